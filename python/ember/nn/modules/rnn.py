"""Recurrent layers (torch's ``torch.nn.modules.rnn``): ``RNN``, ``LSTM`` (with
``proj_size``), ``GRU`` and the cells, with torch's constructor arguments, parameter names
(``weight_ih_l0``, ``bias_hh_l1_reverse``, ``weight_hr_l0``) and call conventions (``hx``,
``batch_first``, unbatched inputs, ``PackedSequence``). Each layer-direction is one fused
Rust node (``_C._nn.rnn_layer``): one input GEMM for all steps, then per step one GEMM and a
fused gate kernel; the Python here only walks the layers."""

import math
import numbers
import warnings

from ... import _C
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence, _pack_sorted, _pad_sorted
from .module import Module

_nn = _C._nn


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          stacklevel=2)
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        gate_size = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}.get(mode)
        if gate_size is None:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size *= hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        real_hidden = proj_size if proj_size > 0 else hidden_size
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gate_size, layer_input), (gate_size, real_hidden)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gate_size,), (gate_size,)]
                if proj_size > 0:
                    names.append(f"weight_hr_l{layer}{suffix}")
                    shapes.append((proj_size, hidden_size))
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(_C.empty(*shape, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, w) for w in weights] for weights in self._all_weights]

    def flatten_parameters(self):
        """Accepted (cuDNN's weight layout does not apply here)."""

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def __setstate__(self, state):
        super().__setstate__(state)
        self.__dict__.setdefault("proj_size", 0)

    # ---- the run

    def _layer_weights(self, layer, direction):
        suffix = "_reverse" if direction == 1 else ""
        get = self._parameters.get
        return (get(f"weight_ih_l{layer}{suffix}"), get(f"weight_hh_l{layer}{suffix}"),
                get(f"bias_ih_l{layer}{suffix}"), get(f"bias_hh_l{layer}{suffix}"),
                get(f"weight_hr_l{layer}{suffix}"))

    def _run(self, x, h0, c0, batch_sizes):
        """``x [T, N, I]`` through every layer; returns ``(output [T, N, D*P], h_n, c_n)``."""
        dirs = 2 if self.bidirectional else 1
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_weights(layer, d)
                out, h, c = _nn.rnn_layer(self.mode, x, h0[k], None if c0 is None else c0[k], w_ih, w_hh, b_ih,
                                          b_hh, w_hr, d == 1, batch_sizes)
                outs.append(out)
                hs.append(h)
                if c is not None:
                    cs.append(c)
            x = outs[0] if dirs == 1 else _C.cat(outs, 2)
            if self.dropout > 0 and self.training and layer + 1 < self.num_layers:
                x = F.dropout(x, self.dropout, True)
        return x, _C.stack(hs), (_C.stack(cs) if cs else None)

    def _check_input(self, input):
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")

    def _state_shapes(self, n):
        dirs = 2 if self.bidirectional else 1
        p = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * dirs, n, p), (self.num_layers * dirs, n, self.hidden_size)

    def _check_state(self, hx, expected, msg="Expected hidden size {}, got {}"):
        if tuple(hx.shape) != tuple(expected):
            raise RuntimeError(msg.format(tuple(expected), list(hx.shape)))

    def forward(self, input, hx=None):
        lstm = self.mode == "LSTM"
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            sizes = [int(b) for b in batch_sizes.tolist()]
            self._check_input(data)
            n = sizes[0]
            x = _pad_sorted(data, sizes)
            h_shape, c_shape = self._state_shapes(n)
            h0, c0 = self._initial(hx, h_shape, c_shape, data.dtype, lstm, sorted_indices)
            y, h, c = self._run(x, h0, c0, sizes)
            out = PackedSequence(_pack_sorted(y, sizes), batch_sizes, sorted_indices, unsorted_indices)
            h, c = self._unsort(h, unsorted_indices), self._unsort(c, unsorted_indices)
            return (out, (h, c)) if lstm else (out, h)
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        batched = input.dim() == 3
        if hx is not None:
            want = 3 if batched else 2
            for state in (hx if lstm else (hx,)):
                if state.dim() != want:
                    kind = "batched 3-D" if batched else "unbatched 2-D"
                    raise RuntimeError(f"For {kind} input, hx {'and cx ' if lstm else ''}should also be {want}-D "
                                       f"but got {state.dim()}-D tensor")
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if hx is not None and not batched:
            hx = tuple(s.unsqueeze(1) for s in hx) if lstm else hx.unsqueeze(1)
        self._check_input(x)
        h_shape, c_shape = self._state_shapes(x.shape[1])
        h0, c0 = self._initial(hx, h_shape, c_shape, x.dtype, lstm, None)
        y, h, c = self._run(x, h0, c0, None)
        if not batched:
            y, h = y.squeeze(1), h.squeeze(1)
            c = c.squeeze(1) if c is not None else None
        elif self.batch_first:
            y = y.transpose(0, 1)
        return (y, (h, c)) if lstm else (y, h)

    def _initial(self, hx, h_shape, c_shape, dtype, lstm, sorted_indices):
        if hx is None:
            h0 = _C.zeros(h_shape, dtype=dtype)
            return h0, (_C.zeros(c_shape, dtype=dtype) if lstm else None)
        if lstm:
            h0, c0 = hx
            h0, c0 = self._sort(h0, sorted_indices), self._sort(c0, sorted_indices)
            self._check_state(h0, h_shape)
            self._check_state(c0, c_shape, "Expected hidden[1] size {}, got {}")
            return h0, c0
        h0 = self._sort(hx, sorted_indices)
        self._check_state(h0, h_shape)
        return h0, None

    @staticmethod
    def _sort(state, indices):
        return state if indices is None else state.index_select(1, indices)

    @staticmethod
    def _unsort(state, indices):
        return state if indices is None or state is None else state.index_select(1, indices)


class RNN(RNNBase):
    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    _mode = "RNN_TANH"

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(_C.empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(_C.empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_C.empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(_C.empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _step(self, input, h, c):
        """One step as a one-step fused layer: ``input [N, I]`` -> ``(h', c')``."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size}")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        n = x.shape[0]
        h = _C.zeros(n, self.hidden_size, dtype=x.dtype) if h is None else (h if batched else h.unsqueeze(0))
        if c is not None or self._mode == "LSTM":
            c = _C.zeros(n, self.hidden_size, dtype=x.dtype) if c is None else (c if batched else c.unsqueeze(0))
        _, h1, c1 = _nn.rnn_layer(self._mode, x.unsqueeze(0), h, c, self.weight_ih, self.weight_hh, self.bias_ih,
                                  self.bias_hh, None, False, None)
        if not batched:
            h1 = h1.squeeze(0)
            c1 = c1.squeeze(0) if c1 is not None else None
        return h1, c1


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity
        if nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {nonlinearity}")

    @property
    def _mode(self):
        return "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input, hx=None):
        return self._step(input, hx, None)[0]


class LSTMCell(RNNCellBase):
    _mode = "LSTM"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        h, c = (None, None) if hx is None else hx
        return self._step(input, h, c)


class GRUCell(RNNCellBase):
    _mode = "GRU"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._step(input, hx, None)[0]

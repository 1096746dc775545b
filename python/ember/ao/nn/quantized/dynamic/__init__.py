"""``ember.ao.nn.quantized.dynamic``, as ``torch.ao.nn.quantized.dynamic``: a ``Linear`` whose
weight is stored in int8 (or float16) and whose activations are quantised on the fly, for CPU
inference.

Numerics: Ember quantises the weight per output row, symmetrically (scale = max |w| / 127), and
each activation row likewise, then multiplies in integers over the whole row (VNNI ``vpdpbusd``
where the CPU has it). PyTorch's fbgemm backend uses one weight scale per tensor and 7-bit
activations per batch; both approximate the float product, and Ember's finer scales are at
least as close. ``weight()`` returns the stored weight dequantised to float (Ember has no
quantised tensor type). Inference only: an input that requires grad under grad mode is an
error."""

import ember
from ember.nn.modules.module import Module

__all__ = ["Linear"]


class Linear(Module):
    """``y = x Wᵀ + b`` with ``W`` held in ``dtype`` (``ember.qint8`` or ``ember.float16``)."""

    _version = 4
    _FLOAT_MODULE = None  # set below: ember.nn.Linear

    def __init__(self, in_features, out_features, bias_=True, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self._dtype = ember.qint8 if dtype is None else dtype
        self.set_weight_bias(ember.zeros(out_features, in_features),
                             ember.zeros(out_features) if bias_ else None)

    def _get_name(self):
        return "DynamicQuantizedLinear"

    def extra_repr(self):
        s = f"in_features={self.in_features}, out_features={self.out_features}, dtype={self._dtype}"
        if self._dtype is ember.qint8:
            s += ", qscheme=torch.per_channel_symmetric"
        return s

    def set_weight_bias(self, w, b):
        """Quantises and stores ``w [out, in]``; keeps ``b`` (float) as is."""
        w = w.detach().to(ember.float32)
        if tuple(w.shape) != (self.out_features, self.in_features):
            raise RuntimeError(f"weight of shape {tuple(w.shape)} for a Linear of {self.in_features} inputs and "
                               f"{self.out_features} outputs")
        if self._dtype is ember.qint8:
            self._packed = ember._C._PackedWeight.int8(w)
            self._weight_f16 = None
        elif self._dtype == ember.float16:
            # Rounded to float16 once and kept as float32: the product runs in f32 (as torch's
            # fp16 dynamic Linear does), with no conversion per call.
            self._packed = None
            self._weight_f16 = w.to(ember.float16).to(ember.float32)
        else:
            raise RuntimeError(f"Unsupported dtype on dynamic quantized linear: {self._dtype}")
        self._bias = None if b is None else b.detach().to(ember.float32).clone()

    def weight(self):
        """The stored weight, dequantised to float ``[out, in]``."""
        if self._packed is not None:
            return self._packed.to_tensor()
        return self._weight_f16

    def bias(self):
        return self._bias

    def forward(self, x):
        if self._packed is not None:
            if x.dtype != ember.float32:
                x = x.to(ember.float32)
            y = self._packed.matmul_t(x)
        else:
            y = ember.nn.functional.linear(x.to(ember.float32), self._weight_f16)
        if self._bias is not None:
            y.add_(self._bias)  # y is a fresh result: adding in place saves a copy
        return y

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        destination[prefix + "weight"] = self.weight()
        if self._bias is not None:
            destination[prefix + "bias"] = self._bias

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        keys = [prefix + "weight"] + ([prefix + "bias"] if self._bias is not None else [])
        missing = [k for k in keys if k not in state_dict]
        if missing:
            if strict:
                missing_keys.extend(missing)
            return
        bias = state_dict[prefix + "bias"] if self._bias is not None else None
        try:
            self.set_weight_bias(state_dict[prefix + "weight"], bias)
        except RuntimeError as ex:
            error_msgs.append(f"size mismatch for {prefix}weight: {ex}")
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key not in keys and "." not in key[len(prefix):]:
                    unexpected_keys.append(key)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False, dtype=None):
        """The quantised copy of an ``nn.Linear``."""
        if not isinstance(mod, ember.nn.Linear):
            raise AssertionError(f"nn.quantized.dynamic.Linear.from_float only works for nn.Linear, got "
                                 f"{type(mod).__name__}")
        if dtype is None:
            qconfig = getattr(mod, "qconfig", None)
            dtype = getattr(qconfig, "dtype", None) or ember.qint8
        q = cls(mod.in_features, mod.out_features, mod.bias is not None, dtype=dtype)
        q.set_weight_bias(mod.weight, mod.bias)
        return q

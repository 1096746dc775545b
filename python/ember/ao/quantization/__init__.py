"""``ember.ao.quantization``, as ``torch.ao.quantization``: post-training dynamic quantisation.
``quantize_dynamic(model)`` swaps each ``nn.Linear`` (by type or by submodule name in
``qconfig_spec``) for ``ember.ao.nn.quantized.dynamic.Linear``, whose weight is int8 (or
float16) and whose activations are quantised on the fly; the rest of the model stays float.
Recurrent layers in the default spec (``LSTM``, ``GRU``, cells) also stay float: Ember's
fused recurrent kernels have no int8 form yet.

QConfigs here name what to do (their ``weight``'s dtype decides int8 or float16); Ember has no
observers to calibrate, since dynamic quantisation needs none."""

import copy
from collections import namedtuple

import ember
from ember import float16, qint8, quint8

from ..nn.quantized import dynamic as _dynamic

__all__ = ["quantize_dynamic", "QConfig", "QConfigDynamic", "default_dynamic_qconfig", "float16_dynamic_qconfig",
           "per_channel_dynamic_qconfig", "get_default_dynamic_quant_module_mappings", "propagate_qconfig_",
           "convert"]


class _Observer:
    """Names an observer class and its dtype (what a QConfig's fields hold in torch)."""

    def __init__(self, name, dtype, **kwargs):
        self.name = name
        self.dtype = dtype
        self.kwargs = kwargs

    def with_args(self, **kwargs):
        return _Observer(self.name, kwargs.pop("dtype", self.dtype), **{**self.kwargs, **kwargs})

    def __call__(self, *args, **kwargs):
        return self

    def __repr__(self):
        extra = "".join(f", {k}={v}" for k, v in self.kwargs.items())
        return f"functools.partial(<class 'torch.ao.quantization.observer.{self.name}'>, dtype={self.dtype}{extra})"


PlaceholderObserver = _Observer("PlaceholderObserver", ember.float32)
MinMaxObserver = _Observer("MinMaxObserver", quint8)
PerChannelMinMaxObserver = _Observer("PerChannelMinMaxObserver", quint8)
default_dynamic_quant_observer = PlaceholderObserver.with_args(dtype=quint8, is_dynamic=True)
default_weight_observer = MinMaxObserver.with_args(dtype=qint8)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(dtype=qint8)


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """How to quantise a module: its activations' and its weight's observers."""

    __slots__ = ()


QConfigDynamic = QConfig

default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer, weight=default_weight_observer)
float16_dynamic_qconfig = QConfig(activation=PlaceholderObserver.with_args(dtype=float16, is_dynamic=True),
                                  weight=PlaceholderObserver.with_args(dtype=float16))
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)


def get_default_dynamic_quant_module_mappings():
    """Float module type -> its dynamically quantised replacement."""
    return {ember.nn.Linear: _dynamic.Linear}


def _weight_dtype(qconfig):
    weight = qconfig.weight() if callable(qconfig.weight) else qconfig.weight
    return getattr(weight, "dtype", qint8)


def propagate_qconfig_(module, qconfig_dict=None):
    """Sets ``.qconfig`` on ``module`` and its descendants: a type's entry for modules of that
    type, a name's entry for that submodule and everything under it."""
    qconfig_dict = qconfig_dict or {}

    def visit(mod, name, inherited):
        qconfig = qconfig_dict.get(type(mod), inherited)
        qconfig = qconfig_dict.get(name, qconfig)
        mod.qconfig = qconfig
        for child_name, child in mod.named_children():
            visit(child, f"{name}.{child_name}" if name else child_name, qconfig)

    visit(module, "", qconfig_dict.get("", None))


def convert(module, mapping=None, inplace=False, remove_qconfig=True, **kwargs):
    """Swaps every descendant that has a qconfig and a type in ``mapping`` for its quantised
    form."""
    mapping = get_default_dynamic_quant_module_mappings() if mapping is None else mapping
    if not inplace:
        module = copy.deepcopy(module)
    for name, child in list(module.named_children()):
        if type(child) in mapping and getattr(child, "qconfig", None) is not None:
            setattr(module, name, mapping[type(child)].from_float(child, dtype=_weight_dtype(child.qconfig)))
        else:
            convert(child, mapping, inplace=True, remove_qconfig=False)
    if remove_qconfig:
        for m in module.modules():
            if hasattr(m, "qconfig"):
                del m.qconfig
    return module


def quantize_dynamic(model, qconfig_spec=None, dtype=qint8, mapping=None, inplace=False):
    """A copy of ``model`` (``inplace=True``: the model itself) in eval mode with its
    ``nn.Linear`` layers dynamically quantised to ``dtype`` (``ember.qint8`` or
    ``ember.float16``). ``qconfig_spec``: a set of module types or names, or a dict from types or
    names to QConfigs."""
    recurrent = [ember.nn.LSTM, ember.nn.GRU, ember.nn.LSTMCell, ember.nn.RNNCell, ember.nn.GRUCell]
    if qconfig_spec is None:
        if dtype is qint8:
            qconfig_spec = dict.fromkeys([ember.nn.Linear] + recurrent, default_dynamic_qconfig)
        elif dtype == float16:
            qconfig_spec = dict.fromkeys([ember.nn.Linear] + recurrent, float16_dynamic_qconfig)
        else:
            raise ValueError(f"Don't know how to quantize with default settings for {dtype}. Provide full qconfig "
                             "please")
    elif isinstance(qconfig_spec, set):
        if dtype is qint8:
            default = default_dynamic_qconfig
        elif dtype == float16:
            default = float16_dynamic_qconfig
        else:
            raise RuntimeError("Unknown dtype specified for quantize_dynamic: ", str(dtype))
        qconfig_spec = dict.fromkeys(qconfig_spec, default)
    if mapping is None:
        mapping = get_default_dynamic_quant_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    propagate_qconfig_(model, qconfig_spec)
    convert(model, mapping, inplace=True)
    return model

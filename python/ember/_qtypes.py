"""The quantised dtypes and quantisation schemes as names (``torch.qint8``,
``torch.per_tensor_affine``, ...): what ``ember.ao.quantization`` takes and prints. Ember has
no quantised tensor type; these name how a quantised module stores its weight."""


class _QuantizedDtype:
    """A quantised element type (``torch.qint8``); not a tensor dtype in Ember."""

    __slots__ = ("_name", "itemsize", "is_signed")
    is_floating_point = False
    is_complex = False

    def __init__(self, name, itemsize, is_signed):
        self._name = name
        self.itemsize = itemsize
        self.is_signed = is_signed

    def __repr__(self):
        return "torch." + self._name

    def __reduce__(self):
        return self._name


class qscheme:  # noqa: N801  (torch's name)
    """A quantisation scheme (``torch.per_tensor_affine``, ...)."""

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return "torch." + self._name

    def __reduce__(self):
        return self._name


qint8 = _QuantizedDtype("qint8", 1, True)
quint8 = _QuantizedDtype("quint8", 1, False)
qint32 = _QuantizedDtype("qint32", 4, True)
quint4x2 = _QuantizedDtype("quint4x2", 1, False)
quint2x4 = _QuantizedDtype("quint2x4", 1, False)
per_tensor_affine = qscheme("per_tensor_affine")
per_channel_affine = qscheme("per_channel_affine")
per_tensor_symmetric = qscheme("per_tensor_symmetric")
per_channel_symmetric = qscheme("per_channel_symmetric")
per_channel_affine_float_qparams = qscheme("per_channel_affine_float_qparams")

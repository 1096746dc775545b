"""``ember.backends``: flags scripts query (``torch.backends.mps.is_available()``, ...)."""


class _Unavailable:
    @staticmethod
    def is_available():
        return False

    @staticmethod
    def is_built():
        return False


mps = _Unavailable()


class cudnn:  # noqa: N801  (PyTorch's name)
    enabled = False
    benchmark = False
    deterministic = False

    @staticmethod
    def is_available():
        return False

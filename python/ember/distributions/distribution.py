"""The ``Distribution`` base: shapes, argument broadcasting, the sampling protocol, and
PyTorch's argument and sample validation (on by default, as in torch: parameters are checked
against ``arg_constraints`` at construction, ``log_prob``/``cdf`` values against ``support``;
``Distribution.set_default_validate_args(False)`` or ``validate_args=False`` turns it off)."""

import functools

import ember
from . import constraints


def broadcast_all(*values):
    """Tensors (numbers become tensors of the default dtype) broadcast to one shape."""
    tensors = [v for v in values if isinstance(v, ember.Tensor)]
    dtype = tensors[0].dtype if tensors else ember.get_default_dtype()
    if not dtype.is_floating_point:
        dtype = ember.get_default_dtype()
    vs = [v if isinstance(v, ember.Tensor) else ember.tensor(float(v), dtype=dtype) for v in values]
    return ember.broadcast_tensors(*vs)


def _shape(sample_shape):
    return tuple(sample_shape) if not isinstance(sample_shape, int) else (sample_shape,)


def _validating(method):
    """``method(value)`` after ``_validate_sample(value)`` when the distribution validates."""
    @functools.wraps(method)
    def checked(self, value, *args, **kwargs):
        if self._validate_args:
            self._validate_sample(value)
        return method(self, value, *args, **kwargs)
    checked._validates = True
    return checked


class Distribution:
    """Base class: ``batch_shape`` (independent parameter sets) and ``event_shape`` (the shape
    of one draw); ``sample(sample_shape)`` returns ``sample_shape + batch_shape + event_shape``."""

    has_rsample = False
    has_enumerate_support = False
    support = None
    arg_constraints = {}
    _validate_args = True

    @staticmethod
    def set_default_validate_args(value):
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("log_prob", "cdf"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_validates", False):
                setattr(cls, name, _validating(method))

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = ember.Size(batch_shape)
        self._event_shape = ember.Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for param, constraint in self.arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and not isinstance(getattr(type(self), param, None), property):
                    continue
                value = getattr(self, param)
                if not bool(constraint.check(value).all()):
                    raise ValueError(
                        f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) of "
                        f"distribution {self!r} to satisfy the constraint {constraint!r}, but found invalid "
                        f"values:\n{value}")

    def _validate_sample(self, value):
        if not isinstance(value, ember.Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_start = value.dim() - len(self._event_shape)
        if tuple(value.shape[event_start:]) != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: {value.shape} vs {self._event_shape}.")
        expected = tuple(self._batch_shape) + tuple(self._event_shape)
        for i, j in zip(reversed(tuple(value.shape)), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {value.shape} vs "
                                 f"{ember.Size(expected)}.")
        support = self.support
        if support is None:
            return
        try:
            valid = support.check(value)
        except (NotImplementedError, ValueError):
            return
        if not bool(valid.all()):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be within the "
                f"support ({support!r}) of the distribution {self!r}, but found invalid values:\n{value}")

    def expand(self, batch_shape, _instance=None):
        """The same distribution with parameters broadcast to ``batch_shape``."""
        batch_shape = ember.Size(batch_shape)
        new = _instance if _instance is not None else type(self).__new__(type(self))
        for name in set(self.arg_constraints) | set(getattr(self, "_expand_params", ())):
            if name in self.__dict__:
                value = self.__dict__[name]
                event = tuple(value.shape[len(self._batch_shape):])
                setattr(new, name, value.expand(tuple(batch_shape) + event))
        for k, v in self.__dict__.items():
            if k not in new.__dict__ and not isinstance(v, ember.Tensor):
                new.__dict__[k] = v
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _get_checked_instance(self, cls, _instance=None):
        """A blank instance for ``cls.expand`` to fill (torch's helper for subclasses)."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom __init__() method must "
                "also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def enumerate_support(self, expand=True):
        raise NotImplementedError

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return ember.Size(_shape(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def sample(self, sample_shape=()):
        """A draw without gradient (``rsample`` under ``no_grad`` where one exists)."""
        with ember.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} does not implement rsample")

    def sample_n(self, n):
        return self.sample((n,))

    def log_prob(self, value):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError

    @property
    def mode(self):
        raise NotImplementedError

    @property
    def variance(self):
        raise NotImplementedError

    @property
    def stddev(self):
        return self.variance.sqrt()

    def perplexity(self):
        return self.entropy().exp()

    def __repr__(self):
        params = ", ".join(f"{k}: {self.__dict__[k] if self.__dict__[k].numel() == 1 else self.__dict__[k].size()}"
                           for k in self.arg_constraints if k in self.__dict__)
        return f"{type(self).__name__}({params})"

"""``ember.optim``: torch's optimizers, schedulers and weight averaging. The built-in update
rules run in Rust (``_C._optim.step``); ``Optimizer`` itself, ``param_groups``, ``state`` and the
schedulers are Python with torch's semantics, so user-written optimizers and schedulers work."""

from .optimizer import Optimizer  # noqa: F401
from ._rules import SGD, ASGD, Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop, Rprop  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .adafactor import Adafactor  # noqa: F401
from .muon import Muon  # noqa: F401
from . import lr_scheduler, swa_utils  # noqa: F401
# Each optimizer's module, as in torch (``from torch.optim.adam import Adam``).
from . import adadelta, adagrad, adam, adamax, adamw, asgd, nadam, radam, rmsprop, rprop, sgd  # noqa: F401,E402

__all__ = ["ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "Muon", "NAdam", "Optimizer", "RAdam",
           "RMSprop", "Rprop", "SGD", "lr_scheduler", "swa_utils"]

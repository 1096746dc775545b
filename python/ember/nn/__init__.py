"""``ember.nn``: torch's ``torch.nn`` over Ember's Rust core. ``Module`` and the containers are
Python, as torch's are; the layers keep torch's constructor signatures, parameter names and
printing, and compute with Ember's Rust functionals (``ember.nn.functional``)."""

from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import Module  # noqa: F401
from . import functional, init, utils  # noqa: F401
from . import attention, modules, parallel  # noqa: F401
from .parallel import DataParallel  # noqa: F401

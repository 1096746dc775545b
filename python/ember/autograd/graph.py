"""``ember.autograd.graph``: the node type behind ``tensor.grad_fn``."""

from .._C import Node  # noqa: F401

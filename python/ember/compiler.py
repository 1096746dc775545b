"""``ember.compiler``, as ``torch.compiler``: Ember runs eagerly (its kernels are already
compiled Rust), so compiling is the identity and the questions scripts ask ("am I being
compiled?") answer no. Programs that decorate functions with ``torch.compiler.disable`` or
branch on ``is_compiling()`` run unchanged."""

import contextlib


def compile(*args, **kwargs):
    """``torch.compile``: the model or function, unchanged."""
    from . import compile as _compile
    return _compile(*args, **kwargs)


def reset():
    """Clears compilation caches: there are none."""


def list_backends(exclude_tags=("debug", "experimental")):
    """Backends ``compile`` accepts by name; any name is accepted and means eager."""
    return []


def disable(fn=None, recursive=True, *, reason=None):
    """Marks ``fn`` to run eagerly (a decorator with or without arguments): every function does."""
    if fn is None:
        return lambda f: f
    return fn


def allow_in_graph(fn):
    return fn


def assume_constant_result(fn):
    return fn


def wrap_numpy(fn):
    return fn


def substitute_in_graph(original_fn, *, can_constant_fold_through=False, skip_signature_check=False):
    return lambda fn: fn


def nested_compile_region(fn=None):
    return (lambda f: f) if fn is None else fn


class _Stance(contextlib.ContextDecorator):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def set_stance(stance="default", *, skip_guard_eval_unsafe=False, force_backend=None):
    """Sets how compiled functions run (a context manager or decorator): they always run eagerly."""
    return _Stance()


def is_compiling():
    """Whether the caller is being traced by the compiler: never."""
    return False


def is_dynamo_compiling():
    return False


def is_exporting():
    return False


def cudagraph_mark_step_begin():
    """Marks a CUDA-graph step: no CUDA graphs on the CPU."""

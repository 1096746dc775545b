"""``ember.utils.checkpoint``: activation checkpointing's API. Ember runs the function as is
(activations are kept, so memory is not saved yet); results and gradients are the same."""


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state=True, **kwargs):
    return function(*args, **kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    modules = list(functions.children()) if hasattr(functions, "children") else list(functions)
    for m in modules:
        input = m(input)
    return input

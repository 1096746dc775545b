"""``ember.utils.checkpoint``: activation checkpointing. The function runs without keeping its
intermediate activations; backward runs it again (replaying the random numbers, so dropout
draws the same mask) to recompute them, trading compute for memory as torch's non-reentrant
checkpoint does. Tensor outputs (one, or a tuple/list of tensors of one dtype, with other
values alongside) are supported; other outputs run without checkpointing."""

import warnings

from .. import _C


class _NotPackable(Exception):
    pass


def _pack(out, layout):
    """One tensor from the function's output, and how to unpack it (in ``layout``)."""
    import ember
    if isinstance(out, ember.Tensor):
        layout["kind"] = "tensor"
        return out
    if isinstance(out, (tuple, list)):
        tensors = [o for o in out if isinstance(o, ember.Tensor)]
        if tensors and len({t.dtype for t in tensors}) == 1 and tensors[0].dtype.is_floating_point:
            layout.update(kind="seq", type=type(out), items=[
                (tuple(o.shape), o.requires_grad) if isinstance(o, ember.Tensor) else ("value", o) for o in out])
            return ember.cat([t.reshape(-1) for t in tensors])
    raise _NotPackable


def _unpack(packed, layout):
    if layout["kind"] == "tensor":
        return packed
    out, offset = [], 0
    for shape, extra in layout["items"]:
        if shape == "value":
            out.append(extra)
            continue
        n = 1
        for s in shape:
            n *= s
        out.append(packed[offset:offset + n].reshape(shape))
        offset += n
    return layout["type"](out)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state=True, **kwargs):
    import ember
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. In a future "
                      "release, calling checkpoint without use_reentrant will raise an exception. use_reentrant=False "
                      "is recommended, but if you need to preserve the current default behavior, you can pass "
                      "use_reentrant=True. Refer to docs for more details on the differences between the two "
                      "variants.", stacklevel=2)
    positions = [i for i, a in enumerate(args) if isinstance(a, ember.Tensor)]
    if not ember.is_grad_enabled() or not any(args[i].requires_grad for i in positions):
        return function(*args, **kwargs)
    layout = {}

    def run(tensors):
        full = list(args)
        for i, t in zip(positions, tensors):
            full[i] = t
        return _pack(function(*full, **kwargs), layout)

    state = ember.get_rng_state()
    try:
        packed = _C._checkpoint(run, [args[i] for i in positions])
    except _NotPackable:
        ember.set_rng_state(state)
        return function(*args, **kwargs)
    return _unpack(packed, layout)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Runs ``functions`` (a Sequential or list of modules) in ``segments`` chunks, each
    checkpointed except the last (as torch)."""
    modules = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = len(modules) // max(1, segments)
    cut = size * (segments - 1)
    chunks = [modules[i:i + size] for i in range(0, cut, size)] + [modules[cut:]] if size else [modules]

    def segment(ms):
        def forward(x):
            for m in ms:
                x = m(x)
            return x
        return forward

    for chunk in chunks[:-1]:
        input = checkpoint(segment(chunk), input, use_reentrant=False if use_reentrant is None else use_reentrant)
    return segment(chunks[-1])(input)

"""Runs a snippet from ``cases.py`` against a torch-like module and turns what it produced
into plain JSON-able data, so PyTorch's answers can be committed and Ember's compared.

A tensor becomes its dtype, shape, flat values and ``requires_grad``; sequences, sizes,
dtypes and Python scalars keep their kind; an exception becomes its type's name.
"""

import math


def run_case(code, torch):
    scope = {"torch": torch, "math": math}
    try:
        exec(compile(code, "<case>", "exec"), scope)
    except Exception as e:  # noqa: BLE001 - the exception type is the expected value
        return {"error": type(e).__name__, "message": str(e).splitlines()[0] if str(e) else ""}
    return normalize(scope.get("out"), torch)


def _number(v):
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    return v


def normalize(obj, torch):
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        flat = t.reshape(-1).tolist() if t.numel() else []
        return {
            "tensor": repr(t.dtype),
            "shape": list(t.shape),
            "data": [_number(v) for v in flat],
            "requires_grad": bool(obj.requires_grad),
        }
    if isinstance(obj, torch.Size):
        return {"size": list(obj)}
    if isinstance(obj, torch.dtype):
        return {"dtype": repr(obj)}
    if isinstance(obj, (tuple, list)):
        return {"seq": "list" if isinstance(obj, list) else "tuple",
                "items": [normalize(o, torch) for o in obj]}
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return {"float": _number(obj)}
    return {"other": type(obj).__name__}


def _close(a, b, dtype):
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool) or dtype in ("int", "exact"):
        return a == b and type(a) is type(b)
    tol = {"torch.float64": (1e-12, 1e-12), "torch.float16": (2e-3, 1e-3),
           "torch.bfloat16": (1e-2, 1e-2)}.get(dtype, (1e-5, 1e-6))
    return abs(a - b) <= tol[1] + tol[0] * abs(b)


def diff(got, want, path="out"):
    """The first difference between two normalized values, or None."""
    if isinstance(want, dict) and "tensor" in want:
        if not (isinstance(got, dict) and "tensor" in got):
            return f"{path}: expected a tensor, got {got!r}"
        for key in ("tensor", "shape", "requires_grad"):
            if got[key] != want[key]:
                return f"{path}.{key}: {got[key]!r} != {want[key]!r}"
        exact = "exact" if "int" in want["tensor"] or "bool" in want["tensor"] else want["tensor"]
        for i, (g, w) in enumerate(zip(got["data"], want["data"])):
            if not _close(g, w, exact):
                return f"{path}[{i}]: {g!r} != {w!r}"
        return None
    if isinstance(want, dict) and "seq" in want:
        if not (isinstance(got, dict) and got.get("seq") == want["seq"]):
            return f"{path}: expected a {want['seq']}, got {got!r}"
        if len(got["items"]) != len(want["items"]):
            return f"{path}: length {len(got['items'])} != {len(want['items'])}"
        for i, (g, w) in enumerate(zip(got["items"], want["items"])):
            d = diff(g, w, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(want, dict) and "float" in want:
        if not (isinstance(got, dict) and "float" in got and _close(got["float"], want["float"], "torch.float64")):
            return f"{path}: {got!r} != {want!r}"
        return None
    if isinstance(want, dict) and "error" in want:
        if not (isinstance(got, dict) and got.get("error") == want["error"]):
            return f"{path}: expected {want['error']}, got {got!r}"
        return None
    if got != want or type(got) is not type(want):
        return f"{path}: {got!r} != {want!r}"
    return None

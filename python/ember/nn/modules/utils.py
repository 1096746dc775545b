"""``torch.nn.modules.utils``: the argument helpers custom layers import (``_pair(3) == (3,
3)``, ...) and ``consume_prefix_in_state_dict_if_present`` (strips ``module.`` from a
``DataParallel`` checkpoint's keys)."""

from ..functional._utils import _list_with_default, _ntuple, _pair, _quadruple, _single, _triple  # noqa: F401

__all__ = ["consume_prefix_in_state_dict_if_present"]


def _reverse_repeat_tuple(t, n):
    """``t`` reversed with each element repeated ``n`` times (``F.pad``'s order for conv
    padding)."""
    return tuple(x for x in reversed(t) for _ in range(n))


def consume_prefix_in_state_dict_if_present(state_dict, prefix):
    """Strips ``prefix`` from the keys (and metadata keys) of ``state_dict`` that start with it,
    in place."""
    for key in list(state_dict.keys()):
        if key.startswith(prefix):
            state_dict[key[len(prefix):]] = state_dict.pop(key)
    if hasattr(state_dict, "_metadata"):
        for key in list(state_dict._metadata.keys()):
            if len(key) == 0:
                continue
            if key == prefix.replace(".", "") or key.startswith(prefix):
                state_dict._metadata[key[len(prefix):]] = state_dict._metadata.pop(key)

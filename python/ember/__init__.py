"""Ember: PyTorch's programming model on a Rust core.

Programs written for PyTorch run with ``import ember as torch``: tensors, operators, indexing,
NumPy interop and autograd have PyTorch's names, arguments, defaults, printing and errors.
The Rust extension ``ember._C`` does the work; this package is the thin layer PyTorch keeps in
Python too (``Size``, named tuples, grad-mode context managers, ``autograd.Function``).
"""

from . import _C
from ._C import Tensor, dtype, device, __version__
from ._C import (  # noqa: F401  (the public API)
    float32, float, float64, double, float16, half, bfloat16, int64, long, int32, int, int16, short, int8, uint8, bool,
    get_default_dtype, set_default_dtype,
    tensor, as_tensor, from_numpy, from_dlpack, zeros, ones, empty, full, zeros_like, ones_like, empty_like,
    full_like, rand_like, randn_like, arange, linspace, eye, rand, randn, randint, randperm,
    normal, cat, stack, manual_seed, set_num_threads, get_num_threads, is_tensor,
    is_floating_point, numel, result_type, is_grad_enabled, searchsorted, bucketize,
    Generator, get_rng_state, set_rng_state, initial_seed, poisson, einsum, tensordot, cdist,
)
from ._C import where as where  # noqa: F401
from ._size import Size
from ._qtypes import (qint8, quint8, qint32, quint4x2, quint2x4, qscheme, per_tensor_affine,  # noqa: F401
                      per_channel_affine, per_tensor_symmetric, per_channel_symmetric,
                      per_channel_affine_float_qparams)
from . import return_types, autograd, cuda, backends, utils, accelerator, amp, mps, jit, testing, cpu, profiler, compiler, signal, hub  # noqa: F401
from .autograd.grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode  # noqa: F401
from . import _tensor_methods
from . import functional  # noqa: F401
from .functional import (  # noqa: F401
    meshgrid, broadcast_tensors, broadcast_shapes, hstack, vstack, row_stack, dstack, column_stack,
    tensor_split, hsplit, vsplit, dsplit, atleast_1d, atleast_2d, atleast_3d, std_mean, var_mean,
)

concat = concatenate = cat
_tensor_methods.install(globals())
functional.install(Tensor)
from . import _utils  # noqa: E402
_utils.install(Tensor)
from . import _shared, multiprocessing  # noqa: E402,F401
_shared.install(Tensor)
from . import _legacy  # noqa: E402
from ._legacy import (  # noqa: E402,F401
    BFloat16Tensor, BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor,
    ShortTensor,
    are_deterministic_algorithms_enabled, compile, empty_strided, finfo, get_default_device,
    get_float32_matmul_precision, iinfo, randint_like, set_default_device, set_float32_matmul_precision,
    set_printoptions, use_deterministic_algorithms,
)
_legacy.install(globals())
autocast = amp.autocast
import sys  # noqa: E402
from . import distributions, special, linalg, sparse  # noqa: E402,F401
from . import nn, optim, serialization, safetensors, distributed  # noqa: E402,F401
from . import ao, quantization  # noqa: E402,F401
from .serialization import save, load  # noqa: E402,F401
from .safetensors import save_file, load_file  # noqa: E402,F401



def seed():
    """Seeds the global generator from the OS (``torch.seed``); returns the seed."""
    import os
    s = int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)
    manual_seed(s)
    return s


def is_nonzero(input):
    return input.__bool__()  # not bool(): ``bool`` here is the dtype ``ember.bool``


def typename(obj):
    return obj.type() if isinstance(obj, Tensor) else type(obj).__name__


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """``torch.norm`` (deprecated in torch, still common): Frobenius / p-norms."""
    if p == "fro" or p is None:
        return linalg.vector_norm(input, 2, dim, keepdim, dtype=dtype)
    if p == "nuc":
        return linalg.matrix_norm(input, "nuc", dim if dim is not None else (-2, -1), keepdim)
    return linalg.vector_norm(input, p, dim, keepdim, dtype=dtype)


Tensor.norm = lambda self, p="fro", dim=None, keepdim=False, dtype=None: norm(self, p, dim, keepdim, dtype)


def det(input):
    return linalg.det(input)


def inverse(input):
    return linalg.inv(input)


def cholesky(input, upper=False):
    return linalg.cholesky(input, upper=upper)


Tensor.det = det
Tensor.inverse = inverse
Tensor.cholesky = cholesky
linalg._install(sys.modules[__name__], Tensor)
sparse._install(sys.modules[__name__], Tensor)
from . import _math_extras, _inplace, _nn_aliases, func  # noqa: E402,F401
_math_extras.install(globals())
from . import _tensor_extras, random  # noqa: E402,F401
_tensor_extras.install(globals(), Tensor)
_inplace.install(globals())
_nn_aliases.install(globals(), nn.functional)
vmap = func.vmap
from .autograd.anomaly_mode import is_anomaly_enabled, is_anomaly_check_nan_enabled  # noqa: E402,F401


def set_anomaly_enabled(enabled, check_nan=True):
    _C._set_anomaly_mode(bool(enabled), check_nan)


def __getattr__(name):
    """A torch name Ember does not have: say so by its PyTorch name."""
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"module 'ember' has no attribute '{name}' (torch.{name} is not provided by Ember)")

"""``torch.sparse`` and sparse COO tensors (``torch.sparse_coo_tensor``), over the core's
``SparseCoo``: ``indices [sparse_dim, nnz]`` and ``values [nnz, ...]``. What graph networks
use: ``to_dense``, ``coalesce``, ``indices()``/``values()``, ``t()``, scaling, ``sum``, and
``sparse @ dense`` (``torch.sparse.mm``, ``torch.spmm``, ``torch.mm``, ``@``) with gradients to
the dense operand and to the values. A ``SparseTensor`` is not an ``ember.Tensor`` subclass;
dense ops take ``to_dense()`` first."""

from . import _C


class layout:
    """A memory layout (``torch.layout``): ``torch.strided`` or ``torch.sparse_coo``."""

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return self._name

    def __reduce__(self):
        return (layout, (self._name,))


strided = layout("torch.strided")
sparse_coo = layout("torch.sparse_coo")


class SparseTensor:
    """A sparse COO tensor (``layout == torch.sparse_coo``)."""

    is_sparse = True
    layout = sparse_coo
    is_cuda = False

    def __init__(self, handle):
        self._c = handle

    # -- structure
    @property
    def shape(self):
        from . import Size
        return Size(self._c.shape())

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return len(self._c.shape())

    ndim = property(dim)

    @property
    def dtype(self):
        return self._c.values().dtype

    @property
    def device(self):
        return self._c.values().device

    def sparse_dim(self):
        return self._c.indices().shape[0]

    def dense_dim(self):
        return self.dim() - self.sparse_dim()

    def _nnz(self):
        return self._c.indices().shape[1]

    def is_coalesced(self):
        return self._c.is_coalesced()

    def _indices(self):
        return self._c.indices()

    def _values(self):
        return self._c.values()

    def indices(self):
        if not self.is_coalesced():
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._c.indices()

    def values(self):
        if not self.is_coalesced():
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._c.values()

    # -- autograd (through the values)
    @property
    def requires_grad(self):
        return self._c.values().requires_grad

    def requires_grad_(self, requires_grad=True):
        self._c.values().requires_grad_(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._c.values().grad_fn

    def detach(self):
        return SparseTensor(self._c.with_values(self._c.values().detach()))

    # -- conversions
    def to_dense(self, dtype=None):
        d = self._c.to_dense()
        return d if dtype is None else d.to(dtype)

    def coalesce(self):
        return SparseTensor(self._c.coalesce())

    def to(self, dtype):
        return SparseTensor(self._c.with_values(self._c.values().to(dtype)))

    def float(self):
        return self.to(_dtype("float32"))

    def double(self):
        return self.to(_dtype("float64"))

    def to_sparse(self):
        return self

    def cpu(self):
        return self

    def t(self):
        return SparseTensor(self._c.t())

    def transpose(self, dim0, dim1):
        if sorted((dim0 % 2, dim1 % 2)) != [0, 1] or self.dim() != 2:
            raise RuntimeError("Ember's sparse tensors transpose only as 2-D matrices")
        return self.t()

    # -- arithmetic
    def __mul__(self, other):
        if isinstance(other, (int, float)):
            return SparseTensor(self._c.mul_scalar(float(other)))
        raise TypeError("sparse tensors multiply by Python numbers in Ember; use to_dense() for tensors")

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self * (1.0 / other)

    def __neg__(self):
        return self * -1.0

    def __matmul__(self, other):
        return mm(self, other)

    def __rmatmul__(self, other):
        # D @ S = (S^T @ D^T)^T
        return mm(self.t(), other.mT).mT

    def mm(self, other):
        return mm(self, other)

    def matmul(self, other):
        return mm(self, other)

    def sum(self, dim=None):
        return sum(self, dim)

    def __repr__(self):
        return (f"tensor(indices={self._c.indices()!r},\n       values={self._c.values()!r},\n"
                f"       size={tuple(self.shape)}, nnz={self._nnz()}, layout=torch.sparse_coo)")


def _dtype(name):
    from . import float32, float64
    return {"float32": float32, "float64": float64}[name]


def _infer_size(indices, values):
    if indices.shape[1] == 0:
        raise RuntimeError("sparse_coo_tensor(): size must be given when there are no indices")
    return tuple(int(v) + 1 for v in indices.amax(1).tolist()) + tuple(values.shape[1:])


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None, requires_grad=False,
                      check_invariants=None, is_coalesced=None):
    from . import Tensor, tensor, int64
    if not isinstance(indices, Tensor):
        indices = tensor(indices, dtype=int64)
    if not isinstance(values, Tensor):
        values = tensor(values, dtype=dtype)
    elif dtype is not None:
        values = values.to(dtype)
    if requires_grad:
        values = values.detach().requires_grad_()
    if size is None:
        size = _infer_size(indices, values)
    return SparseTensor(_C._sparse_coo(indices, values, [int(s) for s in size]))


def _to_sparse(self, sparse_dim=None, *, layout=None):
    if sparse_dim is not None and sparse_dim != self.dim():
        raise NotImplementedError("to_sparse(sparse_dim) with dense dims is not supported by Ember yet")
    if layout is not None and layout is not sparse_coo:
        raise NotImplementedError(f"to_sparse(layout={layout}) is not supported by Ember yet (COO only)")
    return SparseTensor(_C._to_sparse(self))


def mm(mat1, mat2):
    """``mat1 @ mat2`` with a sparse ``mat1 [n, m]`` and dense ``mat2 [m, k]`` (or ``[m]``)."""
    if isinstance(mat1, SparseTensor):
        if isinstance(mat2, SparseTensor):
            mat2 = mat2.to_dense()
        return mat1._c.mm(mat2)
    if isinstance(mat2, SparseTensor):
        return mm(mat2.t(), mat1.mT).mT
    return mat1 @ mat2


spmm = mm


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    return beta * mat + alpha * mm(mat1, mat2)


def sum(input, dim=None, dtype=None):
    """The sum of all values (a dense 0-d tensor); over ``dim``, the dense result."""
    if dim is None:
        r = input._c.values().sum()
    else:
        r = input.to_dense().sum(dim)
    return r if dtype is None else r.to(dtype)


def _install(torch, Tensor):
    """``torch.sparse_coo_tensor``, ``torch.spmm``, ``Tensor.to_sparse``/``is_sparse``, and
    ``torch.mm``/``matmul`` accepting a sparse operand (``dense @ sparse`` needs nothing: the
    dense ``__matmul__`` declines a non-tensor, and Python calls ``SparseTensor.__rmatmul__``)."""
    torch.sparse_coo_tensor = sparse_coo_tensor
    torch.spmm = mm
    torch.sparse_coo, torch.strided, torch.layout = sparse_coo, strided, layout
    Tensor.layout = property(lambda self: strided)
    Tensor.to_sparse = _to_sparse
    Tensor.to_sparse_coo = lambda self: _to_sparse(self)
    Tensor.is_sparse = property(lambda self: False)
    for name in ("mm", "matmul"):
        dense = getattr(torch, name)

        def f(input, other, *, out=None, _dense=dense):
            if isinstance(input, SparseTensor) or isinstance(other, SparseTensor):
                return mm(input, other)
            return _dense(input, other) if out is None else _dense(input, other, out=out)

        f.__name__ = name
        setattr(torch, name, f)

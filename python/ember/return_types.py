"""Named tuples returned by ops with several results (``torch.return_types``)."""

from collections import namedtuple


def _make(name, fields):
    base = namedtuple(name, fields)

    def __repr__(self):
        inner = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"torch.return_types.{name}(\n{inner})"

    cls = type(name, (base,), {"__repr__": __repr__, "__slots__": ()})
    cls.__module__ = __name__
    return cls


max = _make("max", ["values", "indices"])
min = _make("min", ["values", "indices"])
sort = _make("sort", ["values", "indices"])
topk = _make("topk", ["values", "indices"])
kthvalue = _make("kthvalue", ["values", "indices"])
median = _make("median", ["values", "indices"])
mode = _make("mode", ["values", "indices"])
nanmedian = _make("nanmedian", ["values", "indices"])
cummax = _make("cummax", ["values", "indices"])
cummin = _make("cummin", ["values", "indices"])
aminmax = _make("aminmax", ["min", "max"])
slogdet = _make("slogdet", ["sign", "logabsdet"])
linalg_qr = _make("linalg_qr", ["Q", "R"])
linalg_lu_factor = _make("linalg_lu_factor", ["LU", "pivots"])
linalg_lu_factor_ex = _make("linalg_lu_factor_ex", ["LU", "pivots", "info"])
linalg_lu = _make("linalg_lu", ["P", "L", "U"])
lu_unpack = _make("lu_unpack", ["P", "L", "U"])
_lu_with_info = _make("_lu_with_info", ["LU", "pivots", "info"])
linalg_inv_ex = _make("linalg_inv_ex", ["inverse", "info"])
linalg_solve_ex = _make("linalg_solve_ex", ["result", "info"])
linalg_cholesky_ex = _make("linalg_cholesky_ex", ["L", "info"])
linalg_svd = _make("linalg_svd", ["U", "S", "Vh"])
linalg_eigh = _make("linalg_eigh", ["eigenvalues", "eigenvectors"])
linalg_lstsq = _make("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
svd = _make("svd", ["U", "S", "V"])
frexp = _make("frexp", ["mantissa", "exponent"])
histogram = _make("histogram", ["hist", "bin_edges"])
histogramdd = _make("histogramdd", ["hist", "bin_edges"])
triangular_solve = _make("triangular_solve", ["solution", "cloned_coefficient"])

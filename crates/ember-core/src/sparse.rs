//! Sparse COO tensors (`torch.sparse_coo_tensor`): `indices [sparse_dim, nnz]` (i64) and
//! `values [nnz, *dense_dims]`, with duplicates allowed until `coalesce` sums them. What graph
//! networks need: `to_dense`, `coalesce`, `Tensor::to_sparse`, `sum`, scaling, transposing a
//! sparse matrix, and `sparse @ dense` (`torch.sparse.mm`) with gradients to both the dense
//! operand and the sparse values.
//!
//! The values are an ordinary tensor, so every operation written over them (`to_dense` is an
//! `index_add`, `coalesce` too) is differentiable. The product is one op-table primitive
//! (`Op::SparseMm`) over a row-compressed (CSR) copy of the indices built in `O(nnz)`.

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::op::Op;
use crate::Tensor;
use ember_kernels::sparse as cpu;
use std::sync::{Arc, OnceLock};

/// A sparse COO tensor.
#[derive(Clone, Debug)]
pub struct SparseCoo {
    indices: Tensor,
    values: Tensor,
    shape: Vec<usize>,
    coalesced: bool,
    /// The product's pattern, built on the first `mm` and shared by clones (a graph's
    /// adjacency is multiplied once per layer and step).
    pattern: Arc<OnceLock<Arc<Pattern>>>,
}

/// The sparse matrix of a product `[n, m]`: row and column of each stored value, its CSR
/// bucketing, and (built when backward first needs it) the transpose's.
#[derive(Debug)]
pub struct Pattern {
    rows: Vec<usize>,
    cols: Vec<usize>,
    n: usize,
    m: usize,
    csr: cpu::Csr,
    transposed: OnceLock<Arc<Pattern>>,
}

impl Pattern {
    fn new(rows: Vec<usize>, cols: Vec<usize>, n: usize, m: usize) -> Pattern {
        let csr = cpu::csr(&rows, n);
        Pattern { rows, cols, n, m, csr, transposed: OnceLock::new() }
    }

    fn transposed(&self) -> Arc<Pattern> {
        self.transposed
            .get_or_init(|| Arc::new(Pattern::new(self.cols.clone(), self.rows.clone(), self.m, self.n)))
            .clone()
    }
}

impl SparseCoo {
    /// `torch.sparse_coo_tensor(indices, values, size)`: checks what PyTorch checks (index
    /// rank and count, non-negative indices within `size`, values' dense dims matching).
    #[track_caller]
    pub fn new(indices: &Tensor, values: &Tensor, shape: &[usize]) -> Result<SparseCoo> {
        let op = "sparse_coo_tensor";
        if indices.dim() != 2 {
            return Err(Error::shape(op, format!("indices must be sparse_dim x nnz, but got: {:?}", indices.shape())));
        }
        if indices.dtype().is_float() || indices.dtype() == DType::Bool {
            return Err(Error::dtype(op, format!("indices must be an int64 tensor, got {}", indices.dtype())));
        }
        let (sd, nnz) = (indices.shape()[0], indices.shape()[1]);
        if values.dim() == 0 || values.shape()[0] != nnz {
            return Err(Error::shape(
                op,
                format!("number of dimensions must be sparse_dim ({sd}) + dense_dim, but got values of shape {:?} for {nnz} indices", values.shape()),
            ));
        }
        if sd + values.dim() - 1 != shape.len() {
            return Err(Error::shape(
                op,
                format!(
                    "number of dimensions must be sparse_dim ({sd}) + dense_dim ({}), but got {}",
                    values.dim() - 1,
                    shape.len()
                ),
            ));
        }
        if values.shape()[1..] != shape[sd..] {
            return Err(Error::shape(
                op,
                format!(
                    "values has incorrect size, expected {:?}, got {:?}",
                    [&[nnz], &shape[sd..]].concat(),
                    values.shape()
                ),
            ));
        }
        let idx = indices.detach().to_dtype(DType::I64)?.contiguous()?;
        let data = idx.to_vec::<i64>()?;
        for d in 0..sd {
            for &i in &data[d * nnz..(d + 1) * nnz] {
                if i < 0 {
                    return Err(Error::value(op, format!("found negative index {i} for dim {d}")));
                }
                if i as usize >= shape[d] {
                    return Err(Error::value(
                        op,
                        format!(
                            "size is inconsistent with indices: for dim {d}, size is {} but found index {i}",
                            shape[d]
                        ),
                    ));
                }
            }
        }
        Ok(SparseCoo {
            indices: idx,
            values: values.clone(),
            shape: shape.to_vec(),
            coalesced: nnz <= 1,
            pattern: Default::default(),
        })
    }

    pub fn indices(&self) -> &Tensor {
        &self.indices
    }

    pub fn values(&self) -> &Tensor {
        &self.values
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn sparse_dim(&self) -> usize {
        self.indices.shape()[0]
    }

    pub fn nnz(&self) -> usize {
        self.indices.shape()[1]
    }

    pub fn is_coalesced(&self) -> bool {
        self.coalesced
    }

    /// Each stored value's row-major position in the sparse dims.
    fn linear_keys(&self) -> Result<Vec<i64>> {
        let (sd, nnz) = (self.sparse_dim(), self.nnz());
        let idx = self.indices.to_vec::<i64>()?;
        let mut keys = vec![0i64; nnz];
        for d in 0..sd {
            let size = self.shape[d] as i64;
            for (k, &i) in keys.iter_mut().zip(&idx[d * nnz..(d + 1) * nnz]) {
                *k = *k * size + i;
            }
        }
        Ok(keys)
    }

    /// The dense tensor (`to_dense`): duplicates summed; differentiable in the values.
    #[track_caller]
    pub fn to_dense(&self) -> Result<Tensor> {
        let sd = self.sparse_dim();
        let rows: usize = self.shape[..sd].iter().product();
        let keys = Tensor::from_vec(self.linear_keys()?, &[self.nnz()])?;
        let flat = Tensor::zeros(&[&[rows], &self.shape[sd..]].concat(), self.values.dtype())?;
        flat.index_add(0, &keys, &self.values)?.reshape(&self.shape)
    }

    /// Sorted indices without duplicates, duplicates' values summed (`coalesce`).
    #[track_caller]
    pub fn coalesce(&self) -> Result<SparseCoo> {
        if self.coalesced {
            return Ok(self.clone());
        }
        let keys = self.linear_keys()?;
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by_key(|&e| keys[e]);
        let mut inverse = vec![0i64; keys.len()];
        let mut uniq: Vec<i64> = Vec::new();
        for &e in &order {
            if uniq.last() != Some(&keys[e]) {
                uniq.push(keys[e]);
            }
            inverse[e] = uniq.len() as i64 - 1;
        }
        let sd = self.sparse_dim();
        let mut idx = vec![0i64; sd * uniq.len()];
        for (u, &k) in uniq.iter().enumerate() {
            let mut rest = k;
            for d in (0..sd).rev() {
                let size = self.shape[d] as i64;
                idx[d * uniq.len() + u] = rest % size;
                rest /= size;
            }
        }
        let dense = &self.values.shape()[1..];
        let values = Tensor::zeros(&[&[uniq.len()], dense].concat(), self.values.dtype())?.index_add(
            0,
            &Tensor::from_vec(inverse, &[keys.len()])?,
            &self.values,
        )?;
        Ok(SparseCoo {
            indices: Tensor::from_vec(idx, &[sd, uniq.len()])?,
            values,
            shape: self.shape.clone(),
            coalesced: true,
            pattern: Default::default(),
        })
    }

    /// The transpose of a 2-D sparse matrix (`t()`): rows and columns swapped.
    #[track_caller]
    pub fn t(&self) -> Result<SparseCoo> {
        if self.shape.len() != 2 || self.sparse_dim() != 2 {
            return Err(Error::shape("t", format!("t() expects a 2-D sparse matrix, got shape {:?}", self.shape)));
        }
        let idx = self.indices.flip(&[0])?.contiguous()?;
        Ok(SparseCoo {
            indices: idx,
            values: self.values.clone(),
            shape: vec![self.shape[1], self.shape[0]],
            coalesced: false,
            pattern: Default::default(),
        })
    }

    /// Every value times `s` (same pattern).
    pub fn mul_scalar(&self, s: f64) -> Result<SparseCoo> {
        Ok(SparseCoo { values: self.values.mul_scalar(s)?, ..self.clone() })
    }

    /// The sum of all stored values (`torch.sparse.sum(S)`), a 0-d dense tensor.
    pub fn sum(&self) -> Result<Tensor> {
        self.values.sum()
    }

    /// `S @ D` for a 2-D sparse `S [n, m]` (scalar values) and dense `D [m, k]` or `[m]`
    /// (`torch.sparse.mm`, `torch.spmm`): dense `[n, k]`; gradients to `D` and to the values.
    #[track_caller]
    pub fn mm(&self, dense: &Tensor) -> Result<Tensor> {
        let op = "sparse.mm";
        if self.shape.len() != 2 || self.sparse_dim() != 2 {
            return Err(Error::shape(
                op,
                format!("sparse.mm: expected a 2-D sparse matrix, got shape {:?}", self.shape),
            ));
        }
        if self.values.dim() != 1 {
            return Err(Error::unsupported(
                op,
                "sparse.mm: hybrid sparse tensors (values with dense dims) are not supported",
            ));
        }
        let vector = dense.dim() == 1;
        let d = if vector { dense.unsqueeze(-1)? } else { dense.clone() };
        if d.dim() != 2 || d.shape()[0] != self.shape[1] {
            return Err(Error::shape(
                op,
                format!(
                    "mat1 and mat2 shapes cannot be multiplied ({}x{} and {:?})",
                    self.shape[0],
                    self.shape[1],
                    dense.shape()
                ),
            ));
        }
        let pattern = match self.pattern.get() {
            Some(p) => p.clone(),
            None => {
                let idx = self.indices.to_vec::<i64>()?;
                let nnz = self.nnz();
                let rows = idx[..nnz].iter().map(|&i| i as usize).collect();
                let cols = idx[nnz..].iter().map(|&i| i as usize).collect();
                self.pattern.get_or_init(|| Arc::new(Pattern::new(rows, cols, self.shape[0], self.shape[1]))).clone()
            }
        };
        let out = Tensor::sparse_mm(pattern, &self.values, &d)?;
        if vector {
            out.squeeze_dim(-1)
        } else {
            Ok(out)
        }
    }
}

/// The storage as `T`s (the caller converted the tensor to `T`'s dtype).
fn typed<T: Element>(s: &crate::storage::CpuStorage) -> Result<&[T]> {
    T::slice(s).ok_or_else(|| Error::dtype("sparse.mm", format!("expected {} storage", T::DTYPE)))
}

impl Tensor {
    /// The sparse COO form of a dense tensor's nonzeros (`to_sparse()`), over all dims.
    #[track_caller]
    pub fn to_sparse(&self) -> Result<SparseCoo> {
        let nz = self.nonzero()?; // [nnz, ndim]
        let idx = nz.transpose(0, 1)?.contiguous()?;
        let keys: Vec<i64> = {
            let v = nz.to_vec::<i64>()?;
            let nd = self.dim().max(1);
            v.chunks(nd).map(|c| c.iter().zip(self.shape()).fold(0i64, |k, (&i, &s)| k * s as i64 + i)).collect()
        };
        let values = self.reshape(&[self.numel()])?.index_select(0, &Tensor::from_vec(keys, &[nz.shape()[0]])?)?;
        Ok(SparseCoo {
            indices: idx,
            values,
            shape: self.shape().to_vec(),
            coalesced: true,
            pattern: Default::default(),
        })
    }

    /// `S @ D` for the pattern `p` (`[n, m]`) with `values [nnz]` and `D [m, k]`.
    pub(crate) fn sparse_mm(p: Arc<Pattern>, values: &Tensor, dense: &Tensor) -> Result<Tensor> {
        let dtype = DType::promote(values.dtype(), dense.dtype());
        if !dtype.is_float() {
            return Err(Error::dtype("sparse.mm", format!("sparse.mm: expected floating point values, got {dtype}")));
        }
        let (n, k) = (p.n, dense.shape()[1]);
        let work = if dtype == DType::F64 { DType::F64 } else { DType::F32 };
        let v = values.detach().to_dtype(work)?.contiguous()?;
        let d = dense.detach().to_dtype(work)?.contiguous()?;
        // The operands are read in place (no copies): both are contiguous here.
        let (sv, sd) = (v.cpu_read("sparse.mm")?, d.cpu_read("sparse.mm")?);
        let (ov, od) = (v.layout().offset(), d.layout().offset());
        let out = match work {
            DType::F64 => {
                let (vs, ds) = (typed::<f64>(&sv)?, typed::<f64>(&sd)?);
                let mut out = vec![0.0f64; n * k];
                cpu::spmm(&p.csr, &p.cols, &vs[ov..ov + v.numel()], &ds[od..od + d.numel()], k, &mut out);
                Tensor::from_vec(out, &[n, k])?
            }
            _ => {
                let (vs, ds) = (typed::<f32>(&sv)?, typed::<f32>(&sd)?);
                let mut out = vec![0.0f32; n * k];
                cpu::spmm_f32(&p.csr, &p.cols, &vs[ov..ov + v.numel()], &ds[od..od + d.numel()], k, &mut out);
                Tensor::from_vec(out, &[n, k])?
            }
        };
        drop((sv, sd));
        let out = out.to_dtype(dtype)?;
        Ok(out.record(&[values, dense], || Op::SparseMm { pattern: p }))
    }

    /// The gradients of `S @ D`: `dvalues[e] = <G[row_e], D[col_e]>`, `dD = S^T G`.
    pub(crate) fn sparse_mm_backward(
        p: &Arc<Pattern>,
        values: &Tensor,
        dense: &Tensor,
        g: &Tensor,
        need: [bool; 2],
    ) -> Result<Vec<Option<Tensor>>> {
        let as_index = |v: &[usize]| Tensor::from_vec(v.iter().map(|&i| i as i64).collect::<Vec<_>>(), &[v.len()]);
        let gv = match need[0] {
            true => Some(
                g.index_select(0, &as_index(&p.rows)?)?
                    .mul(&dense.index_select(0, &as_index(&p.cols)?)?)?
                    .sum_dim(-1, false)?,
            ),
            false => None,
        };
        let gd = match need[1] {
            true => Some(Tensor::sparse_mm(p.transposed(), values, g)?),
            false => None,
        };
        Ok(vec![gv, gd])
    }
}

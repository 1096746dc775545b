//! Helpers that build the op table's composite cases (`op_table.rs`): decompositions with
//! their sign conventions normalised, the sparse and scatter_reduce fixtures' fixed indices,
//! and the `3 I` shift that keeps matrices well conditioned. Each matches its counterpart in
//! `tools/gen_fixtures.py`.

use ember_core::{DType, Result, Tensor};

/// `torch.linalg.lu_solve` from `A`'s own factorisation.
pub fn lu_solve(a: &Tensor, b: &Tensor, left: bool, adjoint: bool) -> Result<Tensor> {
    let (lu, pivots) = a.linalg_lu_factor(true)?;
    Tensor::lu_solve(&lu, &pivots, b, left, adjoint)
}

/// Q and R with R's diagonal made positive (column signs are a convention), flattened.
pub fn qr_normal(x: &Tensor) -> Result<Tensor> {
    let (q, r) = x.linalg_qr("reduced")?;
    let s = r.diagonal(0, -2, -1)?.detach().sign()?;
    Tensor::cat(&[&q.mul(&s.unsqueeze(-2)?)?.flatten(0, -1)?, &r.mul(&s.unsqueeze(-1)?)?.flatten(0, -1)?], 0)
}

/// The SVD factors named in `use_` (`u`, `s`, `v`), U's first row made positive, flattened.
pub fn svd_normal(x: &Tensor, full: bool, use_: &str) -> Result<Tensor> {
    let (u, s, vh) = x.linalg_svd(full)?;
    let k = s.shape()[s.dim() - 1];
    let (u, vh) = (u.narrow(-1, 0, k)?, vh.narrow(-2, 0, k)?);
    let sg = u.select(-2, 0)?.detach().sign()?;
    let parts: Vec<Tensor> = use_
        .chars()
        .map(|c| match c {
            'u' => u.mul(&sg.unsqueeze(-2)?)?.flatten(0, -1),
            's' => s.flatten(0, -1),
            _ => vh.mul(&sg.unsqueeze(-1)?)?.flatten(0, -1),
        })
        .collect::<Result<_>>()?;
    Tensor::cat(&parts.iter().collect::<Vec<_>>(), 0)
}

/// The 4x3 sparse matrix of the sparse fixture cases (`SP_I` in gen_fixtures.py).
pub fn sp(values: &Tensor) -> Result<ember_core::sparse::SparseCoo> {
    let idx = Tensor::from_vec(vec![0i64, 1, 1, 3, 0, 3, 2, 0, 1, 2, 2, 0], &[2, 6])?;
    ember_core::sparse::SparseCoo::new(&idx, values, &[4, 3])
}

/// `SR_I` of gen_fixtures.py's scatter_reduce cases.
pub fn sr_index() -> Result<Tensor> {
    Tensor::from_vec(vec![0i64, 1, 0, 2, 2, 0, 0, 1], &[2, 4])
}

/// `3 I` (3x3), the shift that keeps the decomposition cases well conditioned.
pub fn eye3(dtype: DType) -> Result<Tensor> {
    Tensor::eye(3, dtype)?.mul_scalar(3.0)
}

//! Elementwise ops: the drivers of the unary and binary tables (`crate::op`, which generate the
//! plain methods such as `exp` and `add`), scalar arithmetic, broadcasting and type promotion,
//! comparisons, `where_cond`, `masked_fill`, and the `+ - * /` operators.

use super::Tensor;
use crate::backend::cpu::map;
use crate::backend::{BinaryOp, CmpOp, UnaryOp};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::broadcast_shapes;
use crate::op::Op;
use crate::storage::{Buf, CpuStorage};

/// Runs `f` with read access to both tensors' storage (one lock when they share it).
#[track_caller]
pub(crate) fn read_two<R>(
    a: &Tensor,
    b: &Tensor,
    op: &'static str,
    f: impl FnOnce(&CpuStorage, &CpuStorage) -> R,
) -> Result<R> {
    let sa = a.cpu_read(op)?;
    if a.shares_storage(b) {
        Ok(f(&sa, &sa))
    } else {
        let sb = b.cpu_read(op)?;
        Ok(f(&sa, &sb))
    }
}

/// The broadcast shape of two tensors, or a shape error naming the op and both shapes.
#[track_caller]
pub(crate) fn broadcast_pair(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    if let Some(s) = broadcast_shapes(a, b) {
        return Ok(s);
    }
    {
        let n = a.len().max(b.len());
        let (mut da, mut db, mut dim) = (0, 0, 0);
        for i in 0..n {
            let x = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
            let y = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
            if x != y && x != 1 && y != 1 {
                (da, db, dim) = (x, y, i);
                break;
            }
        }
        Err(Error::shape(op, format!("shapes {a:?} and {b:?} cannot be broadcast ({da} != {db} at dim {dim})")))
    }
}

impl Tensor {
    /// Applies a unary primitive to a tensor of a dtype it accepts, recording `Op::Unary`.
    #[track_caller]
    pub(crate) fn unary_prim(&self, op: UnaryOp) -> Result<Tensor> {
        let out = map::unary(&*self.cpu_read("unary")?, self.layout(), op);
        let out = Tensor::from_storage(out, self.shape());
        Ok(if op.differentiable() { out.record(&[self], || Op::Unary(op)) } else { out })
    }

    /// Applies the unary op of the table (`op/unary.rs`): integer inputs of float-only ops
    /// become f32 (as `torch.exp(int_tensor)` does). The table's generated methods (`exp`,
    /// `relu`, ...) call this.
    #[track_caller]
    pub fn unary_op(&self, op: UnaryOp) -> Result<Tensor> {
        let name = op.method().unwrap_or(op.name());
        match self.dtype() {
            DType::Bool if op.keeps_int() => Err(Error::dtype(name, "not supported for bool tensors")),
            d if d.is_float() || op.keeps_int() => self.unary_prim(op),
            _ => self.to_dtype(DType::F32)?.unary_prim(op),
        }
    }

    /// `x + s` (an integer tensor plus a float scalar becomes f32, as in PyTorch).
    #[track_caller]
    pub fn add_scalar(&self, s: f64) -> Result<Tensor> {
        self.scalar_op("add_scalar", UnaryOp::AddScalar(s))
    }

    /// `x - s`.
    #[track_caller]
    pub fn sub_scalar(&self, s: f64) -> Result<Tensor> {
        self.scalar_op("sub_scalar", UnaryOp::AddScalar(-s))
    }

    /// `x * s`.
    #[track_caller]
    pub fn mul_scalar(&self, s: f64) -> Result<Tensor> {
        self.scalar_op("mul_scalar", UnaryOp::MulScalar(s))
    }

    /// `x / s`.
    #[track_caller]
    pub fn div_scalar(&self, s: f64) -> Result<Tensor> {
        self.scalar_op("div_scalar", UnaryOp::MulScalar(1.0 / s))
    }

    /// `x ^ p`.
    #[track_caller]
    pub fn pow(&self, p: f64) -> Result<Tensor> {
        self.scalar_op("pow", UnaryOp::PowScalar(p))
    }

    #[track_caller]
    fn scalar_op(&self, name: &'static str, op: UnaryOp) -> Result<Tensor> {
        if self.dtype().is_float() {
            self.unary_prim(op)
        } else {
            let _ = name;
            self.to_dtype(self.dtype().promote_with_float_scalar())?.unary_op(op)
        }
    }

    /// Limits values to `[min, max]` (either bound may be `None`). Integer tensors stay
    /// integer.
    #[track_caller]
    pub fn clamp(&self, min: Option<f64>, max: Option<f64>) -> Result<Tensor> {
        if min.is_none() && max.is_none() {
            return Err(Error::value("clamp", "at least one of min or max must not be None"));
        }
        self.unary_op(UnaryOp::Clamp(min.unwrap_or(f64::NAN), max.unwrap_or(f64::NAN)))
    }

    /// Applies a binary primitive to same-shape, same-dtype tensors, recording `Op::Binary`.
    #[track_caller]
    pub(crate) fn binary_prim(&self, rhs: &Tensor, op: BinaryOp) -> Result<Tensor> {
        let out = read_two(self, rhs, "binary", |a, b| map::binary(a, self.layout(), b, rhs.layout(), op))?;
        let out = Tensor::from_storage(out, self.shape());
        Ok(if op.differentiable() { out.record(&[self, rhs], || Op::Binary(op)) } else { out })
    }

    /// Applies the binary op of the table (`op/binary.rs`) with broadcasting and promotion;
    /// the same as the op's method (`add`, `mul`, ...).
    #[track_caller]
    pub fn binary_op(&self, rhs: &Tensor, op: BinaryOp) -> Result<Tensor> {
        self.binary(rhs, op, op.method().unwrap_or(op.name()))
    }

    /// Promotes dtypes and broadcasts shapes, then applies the primitive. The binary table's
    /// generated methods (`add`, `mul`, ...) call this.
    #[track_caller]
    pub(crate) fn binary(&self, rhs: &Tensor, op: BinaryOp, name: &'static str) -> Result<Tensor> {
        let mut dtype = result_type(self, rhs);
        if op.promotes_int() && !dtype.is_float() {
            dtype = DType::F32; // true division
        }
        if dtype.is_float() && !op.accepts_float() {
            return Err(Error::dtype(name, format!("{name} is not supported for floating point tensors, got {dtype}")));
        }
        if dtype == DType::Bool && !op.accepts_bool() {
            return Err(Error::dtype(name, format!("{name} is not supported for bool tensors")));
        }
        if self.shape() == rhs.shape() {
            // The common case: no broadcast, no shape to build, no conversion.
            if self.dtype() == dtype && rhs.dtype() == dtype {
                return self.binary_prim(rhs, op);
            }
            return self.to_dtype(dtype)?.binary_prim(&rhs.to_dtype(dtype)?, op);
        }
        let shape = broadcast_pair(name, self.shape(), rhs.shape())?;
        let a = self.to_dtype(dtype)?.expand_to(&shape)?;
        let b = rhs.to_dtype(dtype)?.expand_to(&shape)?;
        a.binary_prim(&b, op)
    }

    #[track_caller]
    fn compare(&self, rhs: &Tensor, op: CmpOp, name: &'static str) -> Result<Tensor> {
        let dtype = result_type(self, rhs);
        let shape = broadcast_pair(name, self.shape(), rhs.shape())?;
        let a = self.detach().to_dtype(dtype)?.expand_to(&shape)?;
        let b = rhs.detach().to_dtype(dtype)?.expand_to(&shape)?;
        let out = read_two(&a, &b, name, |x, y| map::cmp(x, a.layout(), y, b.layout(), op))?;
        Ok(Tensor::from_storage(CpuStorage::Bool(Buf::owned(out)), &shape))
    }

    #[track_caller]
    fn compare_scalar(&self, s: f64, op: CmpOp, name: &'static str) -> Result<Tensor> {
        let dtype = if self.dtype().is_float() || s.fract() != 0.0 {
            self.dtype().promote_with_float_scalar()
        } else {
            self.dtype()
        };
        self.compare(&Tensor::full(&[], s, dtype)?, op, name)
    }
}

/// The dtype of a binary op between `a` and `b` (PyTorch's `result_type`): a 0-d operand
/// counts only when its category (bool < integer < float) is higher than a dimensioned
/// operand's, so `f32 tensor + f64 0-d tensor` stays f32 while `i32 tensor + f64 0-d` is f64.
pub fn result_type(a: &Tensor, b: &Tensor) -> DType {
    let zero_dim = |dims: DType, zd: DType| if zd.category() > dims.category() { zd } else { dims };
    match (a.dim() == 0, b.dim() == 0) {
        (false, true) => zero_dim(a.dtype(), b.dtype()),
        (true, false) => zero_dim(b.dtype(), a.dtype()),
        _ => DType::promote(a.dtype(), b.dtype()),
    }
}

macro_rules! compare_methods {
    ($($name:ident, $sname:ident => $op:ident),*) => {
        impl Tensor {$(
            #[doc = concat!("Elementwise `", stringify!($name), "` (a Bool tensor, broadcast).")]
            #[track_caller]
            pub fn $name(&self, rhs: &Tensor) -> Result<Tensor> {
                self.compare(rhs, CmpOp::$op, stringify!($name))
            }
            #[doc = concat!("Elementwise `", stringify!($name), "` against a scalar.")]
            #[track_caller]
            pub fn $sname(&self, s: f64) -> Result<Tensor> {
                self.compare_scalar(s, CmpOp::$op, stringify!($sname))
            }
        )*}
    };
}
compare_methods!(eq, eq_scalar => Eq, ne, ne_scalar => Ne, lt, lt_scalar => Lt, le, le_scalar => Le, gt, gt_scalar => Gt, ge, ge_scalar => Ge);

impl Tensor {
    /// Elementwise logical and of two tensors (nonzero is true).
    #[track_caller]
    pub fn logical_and(&self, rhs: &Tensor) -> Result<Tensor> {
        self.ne_scalar(0.0)?.binary(&rhs.ne_scalar(0.0)?, BinaryOp::Mul, "logical_and")
    }

    /// Elementwise logical or.
    #[track_caller]
    pub fn logical_or(&self, rhs: &Tensor) -> Result<Tensor> {
        self.ne_scalar(0.0)?.binary(&rhs.ne_scalar(0.0)?, BinaryOp::Add, "logical_or")
    }

    /// `~x`: bitwise not of integers, logical not of bools (floats are an error).
    #[track_caller]
    pub fn bitwise_not(&self) -> Result<Tensor> {
        match self.dtype() {
            DType::Bool => self.logical_not(),
            d if d.is_float() => Err(Error::dtype("bitwise_not", format!("not supported for {d} tensors"))),
            _ => self.unary_op(UnaryOp::BitwiseNot),
        }
    }

    /// Elementwise logical not.
    #[track_caller]
    pub fn logical_not(&self) -> Result<Tensor> {
        self.eq_scalar(0.0)
    }

    /// `cond ? a : b` elementwise with broadcasting of all three (`cond` must be Bool):
    /// `torch.where(cond, a, b)`.
    #[track_caller]
    pub fn where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        if cond.dtype() != DType::Bool {
            return Err(Error::dtype("where", format!("condition must be a bool tensor, got {}", cond.dtype())));
        }
        let shape = broadcast_pair("where", &broadcast_pair("where", cond.shape(), a.shape())?, b.shape())?;
        let dtype = result_type(a, b);
        let c = cond.expand_to(&shape)?;
        let x = a.to_dtype(dtype)?.expand_to(&shape)?;
        let y = b.to_dtype(dtype)?.expand_to(&shape)?;
        let cs = c.cpu_read("where")?;
        let CpuStorage::Bool(cv) = &*cs else { unreachable!("dtype checked above") };
        let out = read_two(&x, &y, "where", |p, q| map::where_(cv, c.layout(), p, x.layout(), q, y.layout()))?;
        drop(cs);
        Ok(Tensor::from_storage(out, &shape).record(&[&x, &y], || Op::Where { cond: c.clone() }))
    }

    /// The old name of [`Tensor::where_cond`] (kept for API.md; the trailing underscore does
    /// not mean in-place here).
    #[track_caller]
    pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Tensor::where_cond(cond, a, b)
    }

    /// `value` where `mask` is true, `self` elsewhere (`mask` broadcasts to `self`).
    #[track_caller]
    pub fn masked_fill(&self, mask: &Tensor, value: f64) -> Result<Tensor> {
        let out = Tensor::where_cond(mask, &Tensor::full(&[], value, self.dtype())?, self)?;
        if out.shape() != self.shape() {
            return Err(Error::shape(
                "masked_fill",
                format!("mask of shape {:?} does not broadcast to the tensor's shape {:?}", mask.shape(), self.shape()),
            ));
        }
        Ok(out)
    }
}

macro_rules! binary_operators {
    ($($trait:ident, $method:ident, $tmethod:ident, $smethod:ident);*) => {$(
        impl std::ops::$trait<&Tensor> for &Tensor {
            type Output = Result<Tensor>;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Result<Tensor> { Tensor::$tmethod(&self, rhs) }
        }
        impl std::ops::$trait<Tensor> for &Tensor {
            type Output = Result<Tensor>;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Result<Tensor> { Tensor::$tmethod(&self, &rhs) }
        }
        impl std::ops::$trait<&Tensor> for Tensor {
            type Output = Result<Tensor>;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Result<Tensor> { Tensor::$tmethod(&self, rhs) }
        }
        impl std::ops::$trait<Tensor> for Tensor {
            type Output = Result<Tensor>;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Result<Tensor> { Tensor::$tmethod(&self, &rhs) }
        }
        impl std::ops::$trait<f64> for &Tensor {
            type Output = Result<Tensor>;
            #[track_caller]
            fn $method(self, rhs: f64) -> Result<Tensor> { Tensor::$smethod(&self, rhs) }
        }
        impl std::ops::$trait<f64> for Tensor {
            type Output = Result<Tensor>;
            #[track_caller]
            fn $method(self, rhs: f64) -> Result<Tensor> { Tensor::$smethod(&self, rhs) }
        }
    )*};
}
binary_operators!(Add, add, add, add_scalar; Sub, sub, sub, sub_scalar; Mul, mul, mul, mul_scalar; Div, div, div, div_scalar);

impl std::ops::Neg for &Tensor {
    type Output = Result<Tensor>;
    #[track_caller]
    fn neg(self) -> Result<Tensor> {
        Tensor::neg(self)
    }
}

impl std::ops::Neg for Tensor {
    type Output = Result<Tensor>;
    #[track_caller]
    fn neg(self) -> Result<Tensor> {
        Tensor::neg(&self)
    }
}

impl std::ops::Add<&Tensor> for f64 {
    type Output = Result<Tensor>;
    #[track_caller]
    fn add(self, rhs: &Tensor) -> Result<Tensor> {
        rhs.add_scalar(self)
    }
}

impl std::ops::Mul<&Tensor> for f64 {
    type Output = Result<Tensor>;
    #[track_caller]
    fn mul(self, rhs: &Tensor) -> Result<Tensor> {
        rhs.mul_scalar(self)
    }
}

impl std::ops::Sub<&Tensor> for f64 {
    type Output = Result<Tensor>;
    #[track_caller]
    fn sub(self, rhs: &Tensor) -> Result<Tensor> {
        rhs.neg()?.add_scalar(self)
    }
}

impl std::ops::Div<&Tensor> for f64 {
    type Output = Result<Tensor>;
    #[track_caller]
    fn div(self, rhs: &Tensor) -> Result<Tensor> {
        rhs.reciprocal()?.mul_scalar(self)
    }
}

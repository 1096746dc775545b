//! The macros that turn the op tables (`unary.rs`, `binary.rs`, `mod.rs`) into code: the op
//! enums, their names and kind lists, the saved-data rules, the gradient dispatch, the scalar
//! and per-op f32 loops, the `Tensor` methods and the test-case lists. Each table entry is the
//! one place an op's facts live (PyTorch keeps the same facts in `derivatives.yaml` and
//! `native_functions.yaml` and generates the rest).
//!
//! A gradient rule names what it saves (`saves: [y = output, a = input(0)]`) and reads only
//! those bindings: reading an unsaved value does not compile, and the graph keeps exactly the
//! data the rules read.

/// Binds one saved value of a node (`input(i)`, `output`, or all `inputs`).
macro_rules! __fetch_saved {
    ($st:ident, input($i:tt)) => {
        $st.saved_input($i)?
    };
    ($st:ident, output) => {
        $st.saved_output()?
    };
    ($st:ident, inputs) => {
        $st.saved_inputs()?
    };
}

/// Whether a saved-value declaration reads input `i`.
macro_rules! __reads_input {
    ($i:ident, input($j:tt)) => {
        $i == $j
    };
    ($i:ident, output) => {
        false
    };
    ($i:ident, inputs) => {
        true
    };
}

/// Whether a saved-value declaration reads the output.
macro_rules! __reads_output {
    (input($j:tt)) => {
        false
    };
    (output) => {
        true
    };
    (inputs) => {
        false
    };
}

/// `true` when given a token (an optional clause is present).
macro_rules! __present {
    () => {
        false
    };
    ($($t:tt)+) => {
        true
    };
}

/// The first block when present, else the default.
macro_rules! __or {
    ({$($e:tt)*} ; $d:expr) => {
        $($e)*
    };
    (; $d:expr) => {
        $d
    };
}

/// A zero for a scalar parameter (for the `ALL` lists).
macro_rules! __zero {
    ($p:ident) => {
        0.0
    };
}

/// The `Tensor` method of a unary table entry that names one.
macro_rules! __unary_method {
    ([$($attr:tt)*] $V:ident) => {};
    ([$($attr:tt)*] $V:ident $method:ident) => {
        $($attr)*
        #[track_caller]
        pub fn $method(&self) -> $crate::Result<$crate::Tensor> {
            self.unary_op(UnaryOp::$V)
        }
    };
}

/// The elementwise unary table: one entry per `UnaryOp` variant.
///
/// ```text
/// /// doc
/// Name(params: f64) {
///     method: tensor_method,     // optional: generates `Tensor::tensor_method(&self)`
///     scalar: |x| expr,          // the definition, generic over `F: Float` (f32, f64)
///     int: |v| expr,             // optional: the op keeps integer dtypes (v: i64, wrapping)
///     simd: path::to::kernel,    // optional: fn(&[f32], &mut [f32]) replacing the f32 loop
///     differentiable: false,     // optional: PyTorch's non_differentiable (never recorded)
///     saves: [y = output, x = input(0)],
///     grad: |st, g| expr,        // the input's gradient (a Result<Tensor>)
///     tests: ["fixture_case", ...],
/// }
/// ```
macro_rules! unary_table {
    ($(
        $(#[doc = $doc:literal])*
        $V:ident $(($($p:ident : $pt:ty),+))? {
            $(method: $method:ident,)?
            scalar: |$x:ident| $scalar:expr,
            $(int: |$xi:ident| $int:expr,)?
            $(simd: $simd:path,)?
            $(differentiable: $udiff:literal,)?
            saves: [$($var:ident = $what:ident $(($idx:tt))?),* $(,)?],
            grad: |$st:ident, $g:ident| $grad:expr,
            tests: [$($case:literal),* $(,)?] $(,)?
        }
    )*) => {
        /// Elementwise ops of one input (scalar parameters inline). Generated from the table in
        /// `op/unary.rs`.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum UnaryOp {
            $( $(#[doc = $doc])* $V $(($($pt),+))?, )*
        }

        impl UnaryOp {
            /// Every variant (parameters zeroed).
            pub const ALL: &'static [UnaryOp] = &[$( UnaryOp::$V $(($(__zero!($p)),+))? ),*];

            /// The variant's name (`"Exp"`), used in `grad_fn` names and op kinds.
            pub fn name(self) -> &'static str {
                match self { $( UnaryOp::$V { .. } => stringify!($V), )* }
            }

            /// The `Tensor` method (and torch function) that applies the op with no other
            /// arguments, when there is one (`"exp"`).
            pub fn method(self) -> Option<&'static str> {
                match self { $( UnaryOp::$V { .. } => __or!($({ Some(stringify!($method)) })? ; None), )* }
            }

            /// Whether the op is defined on integer tensors without promotion to float.
            pub fn keeps_int(self) -> bool {
                match self { $( UnaryOp::$V { .. } => __present!($($xi)?), )* }
            }

            /// Whether the op records a gradient: `false` for PyTorch's `non_differentiable`
            /// entries, whose outputs never require grad.
            pub fn differentiable(self) -> bool {
                match self { $( UnaryOp::$V { .. } => __or!($({ $udiff })? ; true), )* }
            }

            /// The op-table fixture cases that exercise this op.
            pub fn tests(self) -> &'static [&'static str] {
                match self { $( UnaryOp::$V { .. } => &[$($case),*], )* }
            }

            /// Whether the gradient rule reads input `i`.
            pub(crate) fn needs_input(self, i: usize) -> bool {
                match self { $( UnaryOp::$V { .. } => false $(|| __reads_input!(i, $what $(($idx))?))*, )* }
            }

            /// Whether the gradient reads the op's input: an in-place form must then keep a copy
            /// of the old value while recording (`Tensor::update_` vs `update_overwriting_`).
            pub fn reads_input(self) -> bool {
                self.needs_input(0)
            }

            /// Whether the gradient rule reads the output.
            pub(crate) fn saves_output(self) -> bool {
                match self { $( UnaryOp::$V { .. } => false $(|| __reads_output!($what $(($idx))?))*, )* }
            }

            /// `op(x)` for one float element: the op's definition.
            #[allow(unused_variables)]
            #[inline(always)]
            pub fn scalar<F: $crate::backend::cpu::map::Float>(self, x: F) -> F {
                match self { $( UnaryOp::$V $(($($p),+))? => { let $x = x; $scalar } )* }
            }

            /// `op(v)` for one integer element (i64, wrapping); only `keeps_int` ops reach it.
            #[allow(unused_variables)]
            #[inline(always)]
            pub(crate) fn scalar_int(self, v: i64) -> i64 {
                match self { $( UnaryOp::$V $(($($p),+))? => __or!($({ { let $xi = v; $int } })? ; v), )* }
            }

            /// `out[i] = op(x[i])` over f32: the op's SIMD kernel, or a loop of its own with the
            /// scalar definition inlined (no per-element `match`).
            #[allow(unused_variables)]
            pub(crate) fn f32_block(self, xs: &[f32], out: &mut [f32]) {
                match self {
                    $( UnaryOp::$V $(($($p),+))? => __or!($({ $simd(xs, out) })? ; {
                        for (o, &v) in out.iter_mut().zip(xs) {
                            *o = {
                                type F = f32;
                                let $x: F = v;
                                $scalar
                            };
                        }
                    }), )*
                }
            }

            /// The input's gradient given the output's gradient `g`.
            #[allow(unused_variables)]
            pub(crate) fn backward(
                self,
                st: &$crate::autograd::NodeState,
                g: &$crate::Tensor,
            ) -> $crate::Result<$crate::Tensor> {
                use $crate::Tensor;
                match self {
                    $( UnaryOp::$V $(($($p),+))? => {
                        let $st = st;
                        let $g = g;
                        $( let $var: Tensor = __fetch_saved!($st, $what $(($idx))?); )*
                        $grad
                    } )*
                }
            }
        }

        impl $crate::Tensor {
            $( __unary_method!([$(#[doc = $doc])*] $V $($method)?); )*
        }
    };
}

/// The elementwise binary table: one entry per `BinaryOp` variant (same-shape, same-dtype
/// inputs; broadcasting and promotion happen before).
///
/// ```text
/// /// doc
/// Name {
///     method: tensor_method,     // generates `Tensor::tensor_method(&self, rhs: &Tensor)`
///     ints: keep | float,        // integer inputs stay integer, or promote to f32
///     no_float: true,            // optional: float inputs are an error (bitwise ops)
///     scalar: |a, b| expr,       // the float definition, generic over `F: Float`
///     int: |a, b| expr,          // the integer definition (i64, wrapping); optional when
///                                // `ints: float` (integers never reach the op)
///     bool: |p, q| expr,         // optional: the op accepts bool tensors
///     differentiable: false,     // optional: PyTorch's non_differentiable (never recorded)
///     saves: [a = input(0), b = input(1), y = output],
///     grad: |st, g, need| expr,  // [Option<Tensor>; 2] (a Result); `need(i)` says which
///     tests: ["fixture_case", ...],
/// }
/// ```
macro_rules! binary_table {
    ($(
        $(#[doc = $doc:literal])*
        $V:ident {
            method: $method:ident,
            ints: $ints:ident,
            $(no_float: $nf:literal,)?
            scalar: |$a:ident, $b:ident| $scalar:expr,
            $(int: |$ia:ident, $ib:ident| $int:expr,)?
            $(bool: |$ba:ident, $bb:ident| $bool:expr,)?
            $(differentiable: $bdiff:literal,)?
            saves: [$($var:ident = $what:ident $(($idx:tt))?),* $(,)?],
            grad: |$st:ident, $g:ident, $need:ident| $grad:expr,
            tests: [$($case:literal),* $(,)?] $(,)?
        }
    )*) => {
        /// Elementwise ops of two same-shape, same-dtype inputs. Generated from the table in
        /// `op/binary.rs`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum BinaryOp {
            $( $(#[doc = $doc])* $V, )*
        }

        impl BinaryOp {
            /// Every variant.
            pub const ALL: &'static [BinaryOp] = &[$(BinaryOp::$V),*];

            /// The variant's name (`"Add"`).
            pub fn name(self) -> &'static str {
                match self { $( BinaryOp::$V => stringify!($V), )* }
            }

            /// The `Tensor` method (and torch function) for the op (`"add"`).
            pub fn method(self) -> Option<&'static str> {
                match self { $( BinaryOp::$V => Some(stringify!($method)), )* }
            }

            /// Whether integer inputs promote to float (true division) instead of staying integer.
            pub fn promotes_int(self) -> bool {
                match self { $( BinaryOp::$V => stringify!($ints) == "float", )* }
            }

            /// Whether the op accepts floating-point tensors (bitwise ops do not).
            pub fn accepts_float(self) -> bool {
                match self { $( BinaryOp::$V => !__or!($({ $nf })? ; false), )* }
            }

            /// Whether the op accepts bool tensors.
            pub fn accepts_bool(self) -> bool {
                match self { $( BinaryOp::$V => __present!($($ba)?), )* }
            }

            /// Whether the op records a gradient (`false`: PyTorch's `non_differentiable`).
            pub fn differentiable(self) -> bool {
                match self { $( BinaryOp::$V => __or!($({ $bdiff })? ; true), )* }
            }

            /// The op-table fixture cases that exercise this op.
            pub fn tests(self) -> &'static [&'static str] {
                match self { $( BinaryOp::$V => &[$($case),*], )* }
            }

            pub(crate) fn needs_input(self, i: usize) -> bool {
                match self { $( BinaryOp::$V => false $(|| __reads_input!(i, $what $(($idx))?))*, )* }
            }

            /// Whether the gradient reads the left operand (the one an in-place form overwrites).
            pub fn reads_lhs(self) -> bool {
                self.needs_input(0)
            }

            pub(crate) fn saves_output(self) -> bool {
                match self { $( BinaryOp::$V => false $(|| __reads_output!($what $(($idx))?))*, )* }
            }

            /// `a op b` for one float element: the op's definition.
            #[inline(always)]
            pub fn scalar<F: $crate::backend::cpu::map::Float>(self, a: F, b: F) -> F {
                match self { $( BinaryOp::$V => { let ($a, $b) = (a, b); $scalar } )* }
            }

            /// `a op b` for bools (only ops with `accepts_bool` reach it).
            #[allow(unused_variables)]
            #[inline(always)]
            pub(crate) fn scalar_bool(self, p: bool, q: bool) -> bool {
                match self { $( BinaryOp::$V => __or!($({ { let ($ba, $bb) = (p, q); $bool } })? ; false), )* }
            }

            /// `a op b` over two same-shape float views, one monomorphised loop per op with
            /// the definition inlined (no per-element `match`).
            #[inline(always)]
            pub(crate) fn zip_float<F: $crate::backend::cpu::map::Float + Send + Sync>(
                self,
                x: &[F],
                lx: &$crate::layout::Layout,
                y: &[F],
                ly: &$crate::layout::Layout,
            ) -> Vec<F> {
                use $crate::backend::cpu::map::zip_strided;
                match self { $( BinaryOp::$V => zip_strided(x, lx, y, ly, |$a: F, $b: F| $scalar), )* }
            }

            /// Likewise for integer views (computed in i64, wrapping, and truncated back).
            #[inline(always)]
            pub(crate) fn zip_int<T: $crate::backend::cpu::map::Int + Send + Sync>(
                self,
                x: &[T],
                lx: &$crate::layout::Layout,
                y: &[T],
                ly: &$crate::layout::Layout,
            ) -> Vec<T> {
                use $crate::backend::cpu::map::zip_strided;
                match self {
                    $( BinaryOp::$V => zip_strided(x, lx, y, ly, |p: T, q: T| {
                        __or!($({ { let ($ia, $ib) = (p.to_i64(), q.to_i64()); T::from_i64($int) } })? ; { let _ = q; p })
                    }), )*
                }
            }

            #[allow(unused_variables)]
            pub(crate) fn backward(
                self,
                st: &$crate::autograd::NodeState,
                g: &$crate::Tensor,
                need: &dyn Fn(usize) -> bool,
            ) -> $crate::Result<[Option<$crate::Tensor>; 2]> {
                use $crate::Tensor;
                match self {
                    $( BinaryOp::$V => {
                        let ($st, $g, $need) = (st, g, need);
                        $( let $var: Tensor = __fetch_saved!($st, $what $(($idx))?); )*
                        $grad
                    } )*
                }
            }
        }

        impl $crate::Tensor {
            $(
                $(#[doc = $doc])*
                #[track_caller]
                pub fn $method(&self, rhs: &$crate::Tensor) -> $crate::Result<$crate::Tensor> {
                    self.binary(rhs, BinaryOp::$V, stringify!($method))
                }
            )*
        }
    };
}

/// The autograd table: the closed set of recorded primitives, with the two elementwise tables
/// nested as `Unary(UnaryOp)` and `Binary(BinaryOp)`.
///
/// ```text
/// /// doc
/// Name(field: Type, ...) {        // the variant's fields, if any
///     name: expr,                    // optional: the name from the fields (default `Name`)
///     saves: [x = input(0), y = output, xs = inputs],
///     backward: |st, g, need| expr,   // Vec<Option<Tensor>>, one per input (a Result)
///     tests: ["fixture_case", ...],
/// }
/// ```
macro_rules! op_table {
    (
        $(
            $(#[doc = $doc:literal])*
            $V:ident $(($($f:ident : $ft:ty),* $(,)?))? {
                $(name: $nm:expr,)?
                saves: [$($var:ident = $what:ident $(($idx:tt))?),* $(,)?],
                backward: |$st:ident, $g:ident, $need:ident| $body:expr,
                tests: [$($case:literal),* $(,)?] $(,)?
            }
        )*
    ) => {
        /// A recorded primitive with what its gradient needs besides the inputs and output.
        /// Generated from the table in `op/mod.rs`.
        #[derive(Clone)]
        pub enum Op {
            /// Elementwise unary op (the table in `op/unary.rs`).
            Unary(UnaryOp),
            /// Elementwise binary op on same-shape inputs (broadcasting is a separate `Expand`).
            Binary(BinaryOp),
            $( $(#[doc = $doc])* $V $({ $($f: $ft),* })?, )*
        }

        impl Op {
            /// A short name for errors and printing (`grad_fn=<MulBackward>`).
            #[allow(unused_variables)]
            pub fn name(&self) -> &'static str {
                match self {
                    Op::Unary(u) => u.name(),
                    Op::Binary(b) => b.name(),
                    $( Op::$V $({ $($f),* })? => __or!($({ $nm })? ; stringify!($V)), )*
                }
            }

            /// The variant's kind, with the inner op for the elementwise tables
            /// (`"Unary::Exp"`), as used by the op-table coverage test.
            pub fn kind(&self) -> String {
                match self {
                    Op::Unary(u) => format!("Unary::{}", u.name()),
                    Op::Binary(b) => format!("Binary::{}", b.name()),
                    $( Op::$V { .. } => stringify!($V).to_string(), )*
                }
            }

            /// Every kind [`Op::kind`] can return, each with the fixture cases that exercise it.
            pub fn all_kinds() -> Vec<(String, &'static [&'static str])> {
                let mut out: Vec<(String, &'static [&'static str])> = Vec::new();
                out.extend(UnaryOp::ALL.iter().map(|u| (format!("Unary::{}", u.name()), u.tests())));
                out.extend(BinaryOp::ALL.iter().map(|b| (format!("Binary::{}", b.name()), b.tests())));
                $( out.push((stringify!($V).to_string(), &[$($case),*])); )*
                out
            }

            /// Whether the rule reads the values of input `i` (otherwise the graph keeps only a
            /// data-less proxy of it, so activations are freed after the forward pass).
            pub(crate) fn needs_input_data(&self, i: usize) -> bool {
                match self {
                    Op::Unary(u) => u.needs_input(i),
                    Op::Binary(b) => b.needs_input(i),
                    $( Op::$V { .. } => false $(|| __reads_input!(i, $what $(($idx))?))*, )*
                }
            }

            /// Whether the rule reads the op's output.
            pub(crate) fn saves_output(&self) -> bool {
                match self {
                    Op::Unary(u) => u.saves_output(),
                    Op::Binary(b) => b.saves_output(),
                    $( Op::$V { .. } => false $(|| __reads_output!($what $(($idx))?))*, )*
                }
            }

            /// Input gradients (one per input, `None` where not needed) given the output's
            /// gradient `g`. The engine accumulates; rules never do.
            #[allow(unused_variables)]
            pub(crate) fn backward(
                &self,
                st: &$crate::autograd::NodeState,
                g: &$crate::Tensor,
                needs: &[bool],
            ) -> $crate::Result<Vec<Option<$crate::Tensor>>> {
                use $crate::Tensor;
                let need = |i: usize| needs.get(i).copied().unwrap_or(false);
                match self {
                    Op::Unary(u) => Ok(vec![Some(u.backward(st, g)?)]),
                    Op::Binary(b) => Ok(b.backward(st, g, &need)?.into()),
                    $( Op::$V $({ $($f),* })? => {
                        let ($st, $g, $need) = (st, g, &need);
                        $( let $var = __fetch_saved!($st, $what $(($idx))?); )*
                        $body
                    } )*
                }
            }
        }
    };
}

//! Define-by-run reverse-mode autograd.
//!
//! Ops record a `Node` on their output when grad mode is on and an input requires grad
//! (`Tensor::record`). `backward()` walks the recorded graph in topological order
//! (`engine.rs`), asking the op tables (`crate::op`) for each node's input
//! gradients and accumulating them. Gradient formulas are ordinary tensor ops, so with
//! `create_graph` the backward pass is itself recorded and higher-order gradients work.
//!
//! A node holds its inputs (strongly) and its output (weakly: the output owns the node), and
//! the storage versions it saw, so modifying a saved tensor in place makes backward fail with
//! an error naming the op, as PyTorch's version counter does.

pub(crate) mod checkpoint;
mod engine;
pub mod gradcheck;
pub mod profile;

pub use checkpoint::{checkpoint, checkpoint_capturing};
pub use custom::custom;

mod custom {
    use crate::op::{CustomBackward, Op};
    use crate::Tensor;
    use std::sync::Arc;

    /// Records `output` as computed from `inputs` by an op whose backward is `backward` (it
    /// maps the output's gradient to one gradient per input): PyTorch's `autograd.Function`.
    /// The forward ran without recording; `name` is the `grad_fn` name (`{name}Backward`).
    /// With `create_graph`, ops inside `backward` are recorded, so higher-order gradients work.
    pub fn custom(inputs: &[Tensor], output: Tensor, name: &'static str, backward: Arc<CustomBackward>) -> Tensor {
        let refs: Vec<&Tensor> = inputs.iter().collect();
        output.detach().record(&refs, || Op::Custom { name, f: backward })
    }
}
pub use engine::{grad, grad_with, grad_with_opt, queue_callback, GradOptions};
pub use gradcheck::{gradcheck, gradgradcheck, GradcheckOptions};

use crate::error::{Error, Result};
use crate::op::Op;
use crate::tensor::{Hook, TensorInner};
use crate::Tensor;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Anomaly detection (`torch.autograd.set_detect_anomaly`): on, and checking gradients for NaN.
static ANOMALY: AtomicBool = AtomicBool::new(false);
static ANOMALY_CHECK_NAN: AtomicBool = AtomicBool::new(true);

/// Turns anomaly detection on or off: while on (with `check_nan`), backward stops at the
/// first function whose input gradients contain a NaN, naming it.
pub fn set_anomaly_mode(enabled: bool, check_nan: bool) {
    ANOMALY.store(enabled, Ordering::Relaxed);
    ANOMALY_CHECK_NAN.store(check_nan, Ordering::Relaxed);
}

/// `(enabled, check_nan)` of anomaly detection.
pub fn anomaly_mode() -> (bool, bool) {
    (ANOMALY.load(Ordering::Relaxed), ANOMALY_CHECK_NAN.load(Ordering::Relaxed))
}

/// Whether ops on this thread record gradients.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Turns recording on or off for this thread; returns the previous setting.
pub fn set_grad_enabled(on: bool) -> bool {
    GRAD_ENABLED.with(|g| g.replace(on))
}

/// Runs `f` with gradient recording off on this thread (`with torch.no_grad():`).
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _g = NoGradGuard::new();
    f()
}

/// Runs `f` with gradient recording on (`with torch.enable_grad():`), restoring the previous
/// setting afterwards; closures given to optimisers run this way inside `no_grad` steps.
pub fn enable_grad<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            set_grad_enabled(self.0);
        }
    }
    let _r = Restore(set_grad_enabled(true));
    f()
}

/// Turns recording off until dropped (restoring the previous setting).
#[derive(Debug)]
pub struct NoGradGuard {
    prev: bool,
}

impl NoGradGuard {
    /// Disables recording on this thread.
    #[allow(clippy::new_without_default)]
    pub fn new() -> NoGradGuard {
        NoGradGuard { prev: set_grad_enabled(false) }
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        set_grad_enabled(self.prev);
    }
}

/// Runs `f` with recording forced to `on`, restoring the previous setting after.
pub(crate) fn with_grad_mode<R>(on: bool, f: impl FnOnce() -> R) -> R {
    let prev = set_grad_enabled(on);
    let r = f();
    set_grad_enabled(prev);
    r
}

/// What a node keeps for its backward: the op, its inputs and the versions they had.
pub(crate) struct NodeState {
    pub(crate) op: Op,
    /// The inputs, or data-less proxies of those whose values the rule does not read (their
    /// shapes and dtypes are still right): rules reach values only through `saved_*`.
    inputs: Vec<Tensor>,
    versions: Vec<u64>,
    output: Weak<TensorInner>,
    out_version: u64,
}

/// The record of one op application in the graph.
pub(crate) struct Node {
    pub(crate) name: &'static str,
    pub(crate) kind: String,
    /// The rule reads the output, so consumers must keep its data alive.
    saves_output: bool,
    state: Mutex<Option<NodeState>>,
}

impl Node {
    /// The node's name as PyTorch prints it (`MulBackward0`; custom ops: `{name}Backward`).
    pub(crate) fn torch_name(&self) -> String {
        if self.kind == "Custom" {
            return format!("{}Backward", self.name);
        }
        let torch = match self.name {
            "AddScalar" => "Add",
            "MulScalar" => "Mul",
            "PowScalar" => "Pow",
            "Recip" => "Reciprocal",
            "Matmul" => "Mm",
            "Linear" => "Addmm",
            "ToDtype" => "ToCopy",
            "Contiguous" => "Clone",
            "Reshape" => "View",
            "SelectDim" => "Max",
            "GeluTanh" => "Gelu",
            "LogAddExp" => "Logaddexp",
            "Im2col" => "Im2Col",
            "Col2im" => "Col2Im",
            other => other,
        };
        format!("{torch}Backward0")
    }

    pub(crate) fn new(op: Op, inputs: &[&Tensor], output: &Tensor) -> Node {
        // Keep an input's data only if this rule reads it, or if its own producer's rule reads
        // its output (then the data is needed anyway); otherwise keep a data-less proxy that
        // carries the graph edge. Leaves are kept as they are (their `.grad` lives on them).
        let keep = |i: usize, t: &Tensor| -> Tensor {
            match t.node() {
                Some(n) if !n.saves_output && !op.needs_input_data(i) => t.proxy(),
                _ => t.clone(),
            }
        };
        let kept: Vec<Tensor> = inputs.iter().enumerate().map(|(i, t)| keep(i, t)).collect();
        Node {
            name: op.name(),
            kind: op.kind(),
            saves_output: op.saves_output(),
            state: Mutex::new(Some(NodeState {
                op,
                inputs: kept,
                versions: inputs.iter().map(|t| t.version()).collect(),
                output: Arc::downgrade(&output.0),
                out_version: output.version(),
            })),
        }
    }

    /// The tensor this node produced, if its handle is still alive (hooks and `retain_grad`
    /// live on it).
    pub(crate) fn output(&self) -> Option<Tensor> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.as_ref().and_then(|st| st.output.upgrade()).map(Tensor)
    }

    /// Makes `t` this node's output (for an in-place op: the result was computed out of place,
    /// then written into `t`, which now carries the history). A rule that reads its output then
    /// reads `t`'s data at its current version, instead of the temporary that is gone.
    pub(crate) fn retarget_output(&self, t: &Tensor) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(st) = s.as_mut() {
            st.output = Arc::downgrade(&t.0);
            st.out_version = t.version();
        }
    }

    /// The inputs, or an error if the graph was already freed by an earlier backward.
    #[track_caller]
    pub(crate) fn inputs(&self) -> Result<Vec<Tensor>> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match &*s {
            Some(st) => Ok(st.inputs.clone()),
            None => Err(self.freed_error()),
        }
    }

    /// Takes the state out (freeing saved tensors) or clones it when the graph is retained.
    #[track_caller]
    pub(crate) fn take_state(&self, retain: bool) -> Result<NodeState> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let st = if retain { s.as_ref().map(NodeState::clone_state) } else { s.take() };
        st.ok_or_else(|| self.freed_error())
    }

    #[track_caller]
    fn freed_error(&self) -> Error {
        Error::autograd(
            "backward",
            format!(
                "trying to backward through the graph a second time (through {}Backward); its saved tensors were freed. Use retain_graph=true on the first backward",
                self.name
            ),
        )
    }
}

impl NodeState {
    fn clone_state(&self) -> NodeState {
        NodeState {
            op: self.op.clone(),
            inputs: self.inputs.clone(),
            versions: self.versions.clone(),
            output: self.output.clone(),
            out_version: self.out_version,
        }
    }

    /// The inputs as the graph holds them (proxies included), for the engine.
    pub(crate) fn graph_inputs(&self) -> &[Tensor] {
        &self.inputs
    }

    /// Number of inputs.
    pub(crate) fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Shape of input `i` (known for proxies too).
    pub(crate) fn input_shape(&self, i: usize) -> &[usize] {
        self.inputs[i].shape()
    }

    /// Dtype of input `i`.
    pub(crate) fn input_dtype(&self, i: usize) -> crate::DType {
        self.inputs[i].dtype()
    }

    /// Input `i`, checked to be unmodified since the forward pass. Only rules whose table entry
    /// declares `input(i)` saved call this (the table binds it), so the data is there.
    #[track_caller]
    pub(crate) fn saved_input(&self, i: usize) -> Result<Tensor> {
        let t = &self.inputs[i];
        check_version(t, self.versions[i], &self.op)?;
        Ok(t.clone())
    }

    /// Every input (a rule declaring `inputs` saved), each checked likewise.
    #[track_caller]
    pub(crate) fn saved_inputs(&self) -> Result<Vec<Tensor>> {
        (0..self.inputs.len()).map(|i| self.saved_input(i)).collect()
    }

    /// The op's output (for rules such as `exp`, whose gradient is `g * out`), checked likewise.
    #[track_caller]
    pub(crate) fn saved_output(&self) -> Result<Tensor> {
        let inner = self.output.upgrade().ok_or_else(|| {
            Error::autograd("backward", format!("the output saved by {}Backward was freed", self.op.name()))
        })?;
        let t = Tensor(inner);
        check_version(&t, self.out_version, &self.op)?;
        // The rule sees the output as it was computed, not its current (possibly rebased) node.
        Ok(t)
    }
}

#[track_caller]
fn check_version(t: &Tensor, saved: u64, op: &Op) -> Result<()> {
    let now = t.version();
    if now != saved {
        return Err(Error::autograd(
            "backward",
            format!(
                "one of the variables needed for gradient computation has been modified by an inplace operation: [{} {:?}] is at version {now}; expected version {saved} instead (saved by {}Backward)",
                t.dtype(),
                t.shape(),
                op.name()
            ),
        ));
    }
    Ok(())
}

/// The kinds (`Op::kind`) of every node in the graph behind `t` (for coverage tests and
/// debugging). Errors if part of the graph was already freed.
#[track_caller]
pub fn graph_op_kinds(t: &Tensor) -> Result<std::collections::BTreeSet<String>> {
    let mut kinds = std::collections::BTreeSet::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![t.clone()];
    while let Some(t) = stack.pop() {
        if !seen.insert(t.graph_key()) {
            continue;
        }
        if let Some(node) = t.node() {
            kinds.insert(node.kind.clone());
            stack.extend(node.inputs()?);
        }
    }
    Ok(kinds)
}

/// Whether the graph behind `t` reaches a leaf that requires grad other than the `excluded`
/// tensors (forward-mode AD asks it: a tangent needs a graph of its own only then).
#[track_caller]
pub fn reaches_leaf_other_than(t: &Tensor, excluded: &[&Tensor]) -> Result<bool> {
    Ok(!leaves_other_than(t, excluded)?.is_empty())
}

/// The leaves that require grad in `t`'s graph, other than `excluded` (and not looked
/// behind): what a function of `excluded` also used, such as a module's parameters.
pub fn leaves_other_than(t: &Tensor, excluded: &[&Tensor]) -> Result<Vec<Tensor>> {
    let skip: std::collections::HashSet<_> = excluded.iter().map(|e| e.graph_key()).collect();
    let mut seen = std::collections::HashSet::new();
    let (mut stack, mut leaves) = (vec![t.clone()], Vec::new());
    while let Some(t) = stack.pop() {
        let key = t.graph_key();
        if skip.contains(&key) || !seen.insert(key) || !t.requires_grad() {
            continue;
        }
        match t.node() {
            Some(node) => stack.extend(node.inputs()?),
            None => leaves.push(t),
        }
    }
    Ok(leaves)
}

/// Autograd methods on tensors.
impl Tensor {
    /// Whether gradients flow to or through this tensor.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }

    /// Marks a leaf as requiring grad (`requires_grad_()`); returns the same tensor. Errors for
    /// integer/bool dtypes and for turning it off on a non-leaf.
    #[track_caller]
    pub fn set_requires_grad(&self, on: bool) -> Result<Tensor> {
        if on && !self.dtype().is_float() {
            return Err(Error::dtype(
                "set_requires_grad",
                format!("only floating point tensors can require gradients, got {}", self.dtype()),
            ));
        }
        if !self.is_leaf() {
            if on {
                return Ok(self.clone());
            }
            return Err(Error::autograd(
                "set_requires_grad",
                "you can only change requires_grad flags of leaf variables; use detach()",
            ));
        }
        self.0.requires_grad.store(on, Ordering::Relaxed);
        Ok(self.clone())
    }

    /// No recorded history (created by the user, or requires no grad).
    pub fn is_leaf(&self) -> bool {
        self.node().is_none()
    }

    /// The accumulated gradient (`.grad`).
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the accumulated gradient (optimizers and clipping use this).
    pub fn set_grad(&self, g: Option<Tensor>) {
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = g;
    }

    /// Clears `.grad` (PyTorch's `set_to_none=True`).
    pub fn zero_grad(&self) {
        self.set_grad(None);
    }

    /// Asks backward to also store `.grad` on this non-leaf tensor.
    pub fn retain_grad(&self) {
        self.0.retains_grad.store(true, Ordering::Relaxed);
    }

    /// The same data, cut from the graph (shares storage; never requires grad).
    pub fn detach(&self) -> Tensor {
        self.with_layout(self.layout().clone())
    }

    /// The name of the node that produced this tensor (`grad_fn`), as PyTorch names it
    /// (`MulBackward0`; custom ops: `{name}Backward`), if recorded.
    pub fn grad_fn_name(&self) -> Option<String> {
        Some(self.node()?.torch_name())
    }

    /// Registers a hook called with this tensor's gradient during backward; it may return a
    /// replacement gradient.
    #[track_caller]
    pub fn register_hook(&self, hook: impl Fn(&Tensor) -> Result<Option<Tensor>> + Send + Sync + 'static) {
        let h: Hook = Box::new(hook);
        self.0.hooks.lock().unwrap_or_else(|e| e.into_inner()).push(h);
    }

    /// Registers a hook called with this leaf after backward has accumulated its gradient into
    /// `.grad` (PyTorch's `register_post_accumulate_grad_hook`). Leaves only, as in PyTorch.
    #[track_caller]
    pub fn register_post_accumulate_grad_hook(
        &self,
        hook: impl Fn(&Tensor) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        if !self.requires_grad() {
            return Err(Error::autograd(
                "register_post_accumulate_grad_hook",
                "cannot register a hook on a tensor that doesn't require gradient",
            ));
        }
        if !self.is_leaf() {
            return Err(Error::autograd(
                "register_post_accumulate_grad_hook",
                "post accumulate grad hooks cannot be registered on non-leaf tensors",
            ));
        }
        let h: crate::tensor::PostAccumulateHook = Box::new(hook);
        self.0.post_accumulate_hooks.lock().unwrap_or_else(|e| e.into_inner()).push(h);
        Ok(())
    }

    /// Backpropagates from a scalar: accumulates `d self / d leaf` into every leaf's `.grad`,
    /// then frees the graph.
    #[track_caller]
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "backward",
                format!(
                    "grad can be implicitly created only for scalar outputs, got shape {:?}; use backward_with",
                    self.shape()
                ),
            ));
        }
        let g = Tensor::ones_like(self)?;
        self.backward_opts(&g, false, false)
    }

    /// Backpropagates with an explicit output gradient (`tensor.backward(gradient)`).
    #[track_caller]
    pub fn backward_with(&self, grad: &Tensor) -> Result<()> {
        self.backward_opts(grad, false, false)
    }

    /// Backward with PyTorch's `retain_graph` and `create_graph` options.
    #[track_caller]
    pub fn backward_opts(&self, grad: &Tensor, retain_graph: bool, create_graph: bool) -> Result<()> {
        if !self.requires_grad() {
            return Err(Error::autograd(
                "backward",
                "element 0 of tensors does not require grad and does not have a grad_fn",
            ));
        }
        if grad.shape() != self.shape() {
            return Err(Error::shape(
                "backward",
                format!("gradient has shape {:?} but the output has shape {:?}", grad.shape(), self.shape()),
            ));
        }
        // Errors raised deep in the engine (a freed graph, a rule's failure) point at this call.
        crate::error::at_caller(engine::run(
            &[(self.clone(), grad.clone())],
            None,
            retain_graph || create_graph,
            create_graph,
            false,
        ))
        .map(|_| ())
    }
}

//! The `Tensor` handle: shared storage, a layout, a dtype, a device and (when recording) the
//! autograd node that produced it. Public methods live in one file per op family:
//! `create` (constructors), `arith` (elementwise), `reduce`, `view` (shape ops that never
//! copy), `index` (gather/scatter/cat), `linalg` (matmul), `inplace`, `convert`, `display`.

mod arith;
mod compare;
mod compose;
mod conv;
mod convert;
mod create;
mod decomp;
mod display;
mod einsum;
mod index;
mod indexing;
mod inplace;
mod inplace_fast;
mod linalg;
mod lu;
mod math;
mod norms;
mod random;
mod reduce;
mod scatter;
mod sort;
mod spectral;
mod view;

pub use arith::result_type;
pub use conv::Conv2dArgs;
pub use indexing::{IndexOp, Indexer, TensorIndex, ELLIPSIS, NEW_AXIS};

use crate::autograd::{self, Node};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::op::Op;
use crate::storage::{Buf, CpuStorage, Storage};
use crate::Device;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

/// A gradient hook: called with the gradient flowing into a tensor; returning `Some(g)`
/// replaces it.
pub type Hook = Box<dyn Fn(&Tensor) -> Result<Option<Tensor>> + Send + Sync>;

/// A post-accumulate-grad hook: called with a leaf after backward has accumulated into its
/// `.grad` (PyTorch's `register_post_accumulate_grad_hook`; data-parallel training starts
/// reducing a gradient from here).
pub type PostAccumulateHook = Box<dyn Fn(&Tensor) -> Result<()> + Send + Sync>;

/// An n-dimensional array with PyTorch semantics: a cheap-to-clone handle (an `Arc` inside);
/// views share storage. `clone()` copies the handle, as assigning a tensor does in Python;
/// [`Tensor::deep_clone`] copies the data (PyTorch's `t.clone()`).
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<TensorInner>);

pub(crate) struct TensorInner {
    pub(crate) storage: Arc<Storage>,
    pub(crate) layout: Layout,
    pub(crate) dtype: DType,
    pub(crate) device: Device,
    pub(crate) requires_grad: AtomicBool,
    pub(crate) retains_grad: AtomicBool,
    pub(crate) node: RwLock<Option<Arc<Node>>>,
    pub(crate) grad: Mutex<Option<Tensor>>,
    pub(crate) hooks: Mutex<Vec<Hook>>,
    pub(crate) post_accumulate_hooks: Mutex<Vec<PostAccumulateHook>>,
}

fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Tensor>();
}

impl Tensor {
    /// A tensor over `layout` of existing storage (no node).
    pub(crate) fn from_parts(storage: Arc<Storage>, layout: Layout, dtype: DType) -> Tensor {
        Tensor(Arc::new(TensorInner {
            storage,
            layout,
            dtype,
            device: Device::Cpu,
            requires_grad: AtomicBool::new(false),
            retains_grad: AtomicBool::new(false),
            node: RwLock::new(None),
            grad: Mutex::new(None),
            hooks: Mutex::new(Vec::new()),
            post_accumulate_hooks: Mutex::new(Vec::new()),
        }))
    }

    /// A contiguous tensor owning `data` with `shape` (callers ensure the sizes agree).
    pub(crate) fn from_storage(data: CpuStorage, shape: &[usize]) -> Tensor {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        let dtype = data.dtype();
        Tensor::from_parts(Arc::new(Storage::new(data)), Layout::contiguous(shape), dtype)
    }

    /// A tensor over a whole buffer (Ember's or foreign memory: `from_numpy`, `from_dlpack`),
    /// viewed with `shape`, element `strides` and element `offset`. Errors when the view would
    /// reach past the buffer.
    #[track_caller]
    pub fn from_buf<T: Element>(buf: Buf<T>, shape: &[usize], strides: &[usize], offset: usize) -> Result<Tensor> {
        let at = std::panic::Location::caller();
        let err = |msg: String| Error::Shape { op: "from_buf", msg, at };
        if shape.len() != strides.len() {
            return Err(err(format!("{} sizes but {} strides", shape.len(), strides.len())));
        }
        crate::storage::checked_numel("from_buf", shape, T::DTYPE)?;
        // The last element a view reaches (none when it is empty).
        let last = shape.iter().zip(strides).try_fold(offset, |acc, (&n, &s)| {
            if n == 0 {
                None
            } else {
                (n - 1).checked_mul(s).and_then(|x| acc.checked_add(x))
            }
        });
        match last {
            Some(l) if l >= buf.len() => {
                return Err(err(format!("a view of shape {shape:?}, strides {strides:?} and offset {offset} reaches element {l} of a buffer of {}", buf.len())))
            }
            None if shape.iter().all(|&n| n > 0) => return Err(err("strides overflow".into())),
            _ => {}
        }
        let storage = Arc::new(Storage::new(T::into_buf_storage(buf)));
        Ok(Tensor::from_parts(storage, Layout::new(shape.to_vec(), strides.to_vec(), offset), T::DTYPE))
    }

    /// A view of this tensor's storage with another layout (no node).
    pub(crate) fn with_layout(&self, layout: Layout) -> Tensor {
        Tensor::from_parts(self.0.storage.clone(), layout, self.0.dtype)
    }

    /// Attaches an autograd node built by `op` when grad mode is on, the output is float and an
    /// input requires grad. Returns `self` for chaining.
    pub(crate) fn record(self, inputs: &[&Tensor], op: impl FnOnce() -> Op) -> Tensor {
        // Cheapest test first: most tensors outside training never require grad.
        if inputs.iter().any(|t| t.requires_grad()) && self.0.dtype.is_float() && autograd::is_grad_enabled() {
            let node = Node::new(op(), inputs, &self);
            *self.0.node.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(node));
            self.0.requires_grad.store(true, Ordering::Relaxed);
        }
        self
    }

    /// Read access to CPU storage; other devices are a clear error until their backend exists.
    #[track_caller]
    pub(crate) fn cpu_read(&self, op: &'static str) -> Result<RwLockReadGuard<'_, CpuStorage>> {
        match self.0.device {
            Device::Cpu => Ok(self.0.storage.read()),
            d => Err(Error::device(op, format!("no backend for device {d} yet"))),
        }
    }

    pub(crate) fn storage(&self) -> &Arc<Storage> {
        &self.0.storage
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.0.layout
    }

    pub(crate) fn node(&self) -> Option<Arc<Node>> {
        self.0.node.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_node(&self, node: Option<Arc<Node>>) {
        *self.0.node.write().unwrap_or_else(|e| e.into_inner()) = node;
    }

    /// Identity of the handle (Python's `id(t)`): clones share it, views and detached tensors
    /// do not. Modules use it to list a tied parameter once.
    pub fn handle_id(&self) -> usize {
        self.id()
    }

    /// Identity of the handle's inner tensor (clones share it; views do not).
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// Identity in the autograd graph: the producing node for non-leaves (shared with their
    /// data-less proxies), the tensor itself for leaves.
    pub(crate) fn graph_key(&self) -> usize {
        match self.node() {
            Some(n) => Arc::as_ptr(&n) as *const () as usize,
            None => self.id(),
        }
    }

    /// The same graph node, shape and dtype without the data (see `Node::new`).
    pub(crate) fn proxy(&self) -> Tensor {
        let t = Tensor::from_parts(
            Arc::new(Storage::new(CpuStorage::zeros(self.dtype(), 0))),
            self.layout().clone(),
            self.dtype(),
        );
        t.set_node(self.node());
        t.0.requires_grad.store(true, Ordering::Relaxed);
        t
    }

    /// Sizes of the dims.
    pub fn shape(&self) -> &[usize] {
        self.0.layout.shape()
    }

    /// Alias of [`Tensor::shape`] (`torch.Tensor.size()`).
    pub fn dims(&self) -> &[usize] {
        self.shape()
    }

    /// Number of dims.
    pub fn dim(&self) -> usize {
        self.0.layout.ndim()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }

    /// Size of dim `d` (negative counts from the end).
    #[track_caller]
    pub fn size(&self, d: isize) -> Result<usize> {
        Ok(self.shape()[self.norm_dim_strict(d, "size")?])
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    /// The device.
    pub fn device(&self) -> Device {
        self.0.device
    }

    /// Strides in elements.
    pub fn strides(&self) -> &[usize] {
        self.0.layout.strides()
    }

    /// Offset of the first element in the storage.
    pub fn storage_offset(&self) -> usize {
        self.0.layout.offset()
    }

    /// Row-major with no gaps.
    pub fn is_contiguous(&self) -> bool {
        self.0.layout.is_contiguous()
    }

    /// Moves this tensor's elements into `into`'s memory and makes that memory this tensor's
    /// storage, seen by every view of it (`into` is left with the old buffer): how
    /// `share_memory_` moves a tensor into shared memory in place. `into` must have the same
    /// dtype and a storage of exactly as many elements.
    #[track_caller]
    pub fn move_storage_into_(&self, into: &Tensor) -> Result<()> {
        if into.dtype() != self.dtype() || into.storage_len() != self.storage_len() {
            return Err(Error::value(
                "move_storage_into_",
                format!(
                    "the target storage holds {} {} elements, this tensor's {} {}",
                    into.storage_len(),
                    into.dtype(),
                    self.storage_len(),
                    self.dtype()
                ),
            ));
        }
        match self.0.storage.move_into(&into.0.storage) {
            true => Ok(()),
            false => Err(Error::value("move_storage_into_", "the storages changed while being moved")),
        }
    }

    /// Whether two tensors share storage (a view and its base do).
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.storage, &other.0.storage)
    }

    /// The address of the view's first element (PyTorch's `data_ptr()`), for sharing memory
    /// across FFI boundaries (NumPy, DLPack). The buffer never moves or reallocates while any
    /// handle to its storage lives. Writing through it bypasses the version counter.
    pub fn data_ptr(&self) -> usize {
        let s = self.0.storage.read();
        let base = crate::with_storage!(&*s, v => v.as_ptr() as usize);
        base + self.storage_offset() * self.dtype().size_in_bytes()
    }

    /// Elements in the whole storage behind this tensor (views see part of it).
    pub fn storage_len(&self) -> usize {
        self.0.storage.read().len()
    }

    /// Marks the storage as written from outside (a NumPy array sharing it): bumps the version
    /// counter so saved tensors notice.
    pub fn bump_version(&self) {
        drop(self.0.storage.write());
    }

    /// The storage's in-place version counter.
    pub fn version(&self) -> u64 {
        self.0.storage.version()
    }

    /// A dim index in `0..ndim` from a possibly negative `d` (0-d tensors accept -1 and 0).
    #[track_caller]
    pub(crate) fn norm_dim(&self, d: isize, op: &'static str) -> Result<usize> {
        norm_dim(d, self.dim(), op)
    }

    /// A dim index in `0..ndim` for ops that need an actual dim (`size`, `split`, ...): a 0-d
    /// tensor has none, so any `d` is an error (PyTorch's "tensor has no dimensions").
    #[track_caller]
    pub(crate) fn norm_dim_strict(&self, d: isize, op: &'static str) -> Result<usize> {
        if self.dim() == 0 {
            return Err(Error::index(op, format!("dimension specified as {d} but tensor has no dimensions")));
        }
        norm_dim(d, self.dim(), op)
    }
}

/// A dim index in `0..ndim` from a possibly negative `d`, with PyTorch's error message.
#[track_caller]
pub(crate) fn norm_dim(d: isize, ndim: usize, op: &'static str) -> Result<usize> {
    let n = ndim.max(1) as isize;
    let r = if d < 0 { d.saturating_add(n) } else { d };
    if r < 0 || r >= n {
        return Err(Error::index(
            op,
            format!("dimension out of range (expected to be in range of [{}, {}], but got {d})", -n, n - 1),
        ));
    }
    Ok(r as usize)
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

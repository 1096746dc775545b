//! One implementation of [`ProcessGroup`] for every transport: argument checks, the wire
//! conversions, `Avg` and queuing on the communication thread live here once; a transport (MPI,
//! or threads in one process) only moves typed buffers among the ranks of a communicator.

use crate::comm::CommThread;
use crate::group::{ProcessGroup, ReduceOp};
use crate::scalar::{check_like, with_copy, with_scalar, Scalar, Wired};
use crate::work::Work;
use ember_core::{Element, Error, Result, Tensor};
use std::sync::Arc;
use std::time::Duration;

/// A communicator's id within a transport (0 is the world).
pub(crate) type CommId = usize;

/// Moves buffers among the ranks of a communicator. Runs on the communication thread only.
/// Ranks are ranks within the communicator. `Avg` never reaches a transport (it sums).
pub(crate) trait Transport: 'static {
    fn all_reduce<T: Scalar>(&mut self, c: CommId, send: &[T], recv: &mut [T], op: ReduceOp) -> Result<()>;
    fn broadcast<T: Scalar>(&mut self, c: CommId, buf: &mut [T], root: usize) -> Result<()>;
    /// `recv` holds `size * send.len()` elements, rank by rank.
    fn all_gather<T: Scalar>(&mut self, c: CommId, send: &[T], recv: &mut [T]) -> Result<()>;
    /// `send` holds `size * recv.len()` elements; rank `r` gets the reduction of block `r`.
    fn reduce_scatter<T: Scalar>(&mut self, c: CommId, send: &[T], recv: &mut [T], op: ReduceOp) -> Result<()>;
    /// `recv` is `Some` on the root only.
    fn reduce<T: Scalar>(
        &mut self,
        c: CommId,
        send: &[T],
        recv: Option<&mut [T]>,
        root: usize,
        op: ReduceOp,
    ) -> Result<()>;
    /// `recv` (`size * send.len()` elements) is `Some` on the root only.
    fn gather<T: Scalar>(&mut self, c: CommId, send: &[T], recv: Option<&mut [T]>, root: usize) -> Result<()>;
    /// `send` (`size * recv.len()` elements) is `Some` on the root only.
    fn scatter<T: Scalar>(&mut self, c: CommId, send: Option<&[T]>, recv: &mut [T], root: usize) -> Result<()>;
    fn barrier(&mut self, c: CommId) -> Result<()>;
    fn send<T: Scalar>(&mut self, c: CommId, buf: &[T], dst: usize, tag: i32) -> Result<()>;
    fn recv<T: Scalar>(&mut self, c: CommId, buf: &mut [T], src: usize, tag: i32) -> Result<()>;
    /// A communicator of `ranks` (ranks of `c`, in order), collective over `c`: `Some` on members.
    fn split(&mut self, c: CommId, ranks: &[usize]) -> Result<Option<CommId>>;
}

/// A process group over transport `T`: a communicator and the shared communication thread.
pub(crate) struct Group<T: Transport> {
    pub(crate) thread: Arc<CommThread<T>>,
    pub(crate) comm: CommId,
    pub(crate) rank: usize,
    pub(crate) world_ranks: Vec<usize>,
    pub(crate) timeout: Duration,
    pub(crate) backend: &'static str,
}

impl<T: Transport> std::fmt::Debug for Group<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProcessGroup({}, rank {} of {})", self.backend, self.rank, self.world_ranks.len())
    }
}

impl<T: Transport> Group<T> {
    fn check_rank(&self, op: &'static str, what: &str, r: usize) -> Result<()> {
        if r >= self.size() {
            return Err(Error::value(op, format!("Invalid {what} rank {r}: the group has {} ranks", self.size())));
        }
        Ok(())
    }

    fn check_count(&self, op: &'static str, what: &str, n: usize) -> Result<()> {
        if n != self.size() {
            return Err(Error::value(op, format!("{what} must hold one tensor per rank ({}), got {n}", self.size())));
        }
        Ok(())
    }

    /// Queues `f(transport, comm)`; the handle's description names the op.
    fn submit(&self, op: &'static str, f: impl FnOnce(&mut T, CommId) -> Result<()> + Send + 'static) -> Result<Work> {
        let comm = self.comm;
        let what = format!("{op} on {} group of {} ranks (rank {})", self.backend, self.size(), self.rank);
        self.thread.submit(what, self.timeout, move |t| f(t, comm))
    }
}

/// `dst[i] = src` block `i` for `i` in `0..outs.len()`: copies one block into each output.
fn scatter_blocks<S: Scalar>(all: &[S], outs: &[Wired]) -> Result<()> {
    let n = all.len() / outs.len().max(1);
    for (o, block) in outs.iter().zip(all.chunks(n.max(1))) {
        o.wire.with_slice_mut::<S, _>(|d| d.copy_from_slice(&block[..d.len()]))?;
        o.finish()?;
    }
    Ok(())
}

/// The blocks of `ins` one after another.
fn concat_blocks<S: Scalar>(ins: &[Wired]) -> Result<Vec<S>> {
    let mut all = Vec::new();
    for i in ins {
        i.wire.with_slice::<S, _>(|s| all.extend_from_slice(s))?;
    }
    Ok(all)
}

fn wire_all(op: &'static str, ts: &[Tensor]) -> Result<Vec<Wired>> {
    ts.iter().map(|t| Wired::new(op, t)).collect()
}

impl<T: Transport> ProcessGroup for Group<T> {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.world_ranks.len()
    }

    fn backend(&self) -> &'static str {
        self.backend
    }

    fn world_ranks(&self) -> &[usize] {
        &self.world_ranks
    }

    fn all_reduce(&self, tensor: &Tensor, op: ReduceOp) -> Result<Work> {
        let w = Wired::new("all_reduce", tensor)?;
        check_avg("all_reduce", tensor, op)?;
        let size = self.size();
        self.submit("all_reduce", move |tr, c| {
            with_scalar!(w.dtype(), S => {
                w.wire.with_slice_mut::<S, _>(|buf| -> Result<()> {
                    with_copy(buf, |send, buf| tr.all_reduce(c, send, buf, op))?;
                    average(buf, op, size);
                    Ok(())
                })??;
                w.finish()
            })
        })
    }

    fn all_reduce_into(&self, input: &Tensor, output: &Tensor, op: ReduceOp) -> Result<Work> {
        check_like("all_reduce_into", "output", std::slice::from_ref(output), input)?;
        if input.shares_storage(output) {
            return Err(Error::value("all_reduce_into", "input and output must be different tensors; use all_reduce"));
        }
        check_avg("all_reduce_into", input, op)?;
        let (i, o) = (Wired::new("all_reduce_into", input)?, Wired::new("all_reduce_into", output)?);
        let size = self.size();
        self.submit("all_reduce", move |tr, c| {
            with_scalar!(i.dtype(), S => {
                i.wire.with_slice::<S, _>(|send| {
                    o.wire.with_slice_mut::<S, _>(|buf| -> Result<()> {
                        tr.all_reduce(c, send, buf, op)?;
                        average(buf, op, size);
                        Ok(())
                    })
                })???;
                o.finish()
            })
        })
    }

    fn broadcast(&self, tensor: &Tensor, src: usize) -> Result<Work> {
        self.check_rank("broadcast", "source", src)?;
        let w = Wired::new("broadcast", tensor)?;
        self.submit("broadcast", move |tr, c| {
            with_scalar!(w.dtype(), S => {
                w.wire.with_slice_mut::<S, _>(|buf| tr.broadcast(c, buf, src))??;
                w.finish()
            })
        })
    }

    fn all_gather(&self, outputs: &[Tensor], input: &Tensor) -> Result<Work> {
        self.check_count("all_gather", "tensor_list", outputs.len())?;
        check_like("all_gather", "tensor_list", outputs, input)?;
        let (w, outs) = (Wired::new("all_gather", input)?, wire_all("all_gather", outputs)?);
        let size = self.size();
        self.submit("all_gather", move |tr, c| {
            with_scalar!(w.dtype(), S => {
                let mut all = vec![S::from_f64(0.0); size * w.wire.numel()];
                w.wire.with_slice::<S, _>(|s| tr.all_gather(c, s, &mut all))??;
                scatter_blocks(&all, &outs)
            })
        })
    }

    fn reduce_scatter(&self, output: &Tensor, inputs: &[Tensor], op: ReduceOp) -> Result<Work> {
        self.check_count("reduce_scatter", "input_list", inputs.len())?;
        check_like("reduce_scatter", "input_list", inputs, output)?;
        let (w, ins) = (Wired::new("reduce_scatter", output)?, wire_all("reduce_scatter", inputs)?);
        let size = self.size();
        self.submit("reduce_scatter", move |tr, c| {
            with_scalar!(w.dtype(), S => {
                let all = concat_blocks::<S>(&ins)?;
                w.wire.with_slice_mut::<S, _>(|buf| -> Result<()> {
                    tr.reduce_scatter(c, &all, buf, op)?;
                    average(buf, op, size);
                    Ok(())
                })??;
                w.finish()
            })
        })
    }

    fn reduce(&self, tensor: &Tensor, dst: usize, op: ReduceOp) -> Result<Work> {
        self.check_rank("reduce", "destination", dst)?;
        let w = Wired::new("reduce", tensor)?;
        let (size, root) = (self.size(), self.rank == dst);
        self.submit("reduce", move |tr, c| {
            with_scalar!(w.dtype(), S => {
                w.wire.with_slice_mut::<S, _>(|buf| -> Result<()> {
                    with_copy(buf, |send, buf| tr.reduce(c, send, root.then_some(buf), dst, op))?;
                    if root {
                        average(buf, op, size);
                    }
                    Ok(())
                })??;
                w.finish()
            })
        })
    }

    fn gather(&self, input: &Tensor, outputs: &[Tensor], dst: usize) -> Result<Work> {
        self.check_rank("gather", "destination", dst)?;
        let root = self.rank == dst;
        if root {
            self.check_count("gather", "gather_list", outputs.len())?;
            check_like("gather", "gather_list", outputs, input)?;
        } else if !outputs.is_empty() {
            return Err(Error::value(
                "gather",
                "Argument ``gather_list`` must NOT be specified on non-destination ranks.",
            ));
        }
        let (w, outs) = (Wired::new("gather", input)?, wire_all("gather", outputs)?);
        let size = self.size();
        self.submit("gather", move |tr, c| {
            with_scalar!(w.dtype(), S => {
                let mut all = if root { vec![S::from_f64(0.0); size * w.wire.numel()] } else { Vec::new() };
                w.wire.with_slice::<S, _>(|s| tr.gather(c, s, root.then_some(&mut all[..]), dst))??;
                if root {
                    scatter_blocks(&all, &outs)?;
                }
                Ok(())
            })
        })
    }

    fn scatter(&self, output: &Tensor, inputs: &[Tensor], src: usize) -> Result<Work> {
        self.check_rank("scatter", "source", src)?;
        let root = self.rank == src;
        if root {
            self.check_count("scatter", "scatter_list", inputs.len())?;
            check_like("scatter", "scatter_list", inputs, output)?;
        } else if !inputs.is_empty() {
            return Err(Error::value(
                "scatter",
                "Argument ``scatter_list`` must NOT be specified on non-source ranks.",
            ));
        }
        let (w, ins) = (Wired::new("scatter", output)?, wire_all("scatter", inputs)?);
        self.submit("scatter", move |tr, c| {
            with_scalar!(w.dtype(), S => {
                let all = concat_blocks::<S>(&ins)?;
                w.wire.with_slice_mut::<S, _>(|buf| tr.scatter(c, root.then_some(&all[..]), buf, src))??;
                w.finish()
            })
        })
    }

    fn barrier(&self) -> Result<Work> {
        self.submit("barrier", |tr, c| tr.barrier(c))
    }

    fn send(&self, tensor: &Tensor, dst: usize, tag: i32) -> Result<Work> {
        self.check_rank("send", "destination", dst)?;
        if dst == self.rank {
            return Err(Error::value(
                "send",
                "Invalid destination rank: should not be the same as the rank of the current process.",
            ));
        }
        let w = Wired::new("send", tensor)?;
        self.submit(
            "send",
            move |tr, c| with_scalar!(w.dtype(), S => w.wire.with_slice::<S, _>(|s| tr.send(c, s, dst, tag))?),
        )
    }

    fn recv(&self, tensor: &Tensor, src: usize, tag: i32) -> Result<Work> {
        self.check_rank("recv", "source", src)?;
        if src == self.rank {
            return Err(Error::value(
                "recv",
                "Invalid source rank: should not be the same as the rank of the current process.",
            ));
        }
        let w = Wired::new("recv", tensor)?;
        self.submit("recv", move |tr, c| {
            with_scalar!(w.dtype(), S => {
                w.wire.with_slice_mut::<S, _>(|s| tr.recv(c, s, src, tag))??;
                w.finish()
            })
        })
    }

    fn new_group(&self, ranks: &[usize]) -> Result<Option<Arc<dyn ProcessGroup>>> {
        let mut seen = vec![false; self.size()];
        for &r in ranks {
            self.check_rank("new_group", "member", r)?;
            if std::mem::replace(&mut seen[r], true) {
                return Err(Error::value("new_group", format!("rank {r} is listed twice")));
            }
        }
        if ranks.is_empty() {
            return Err(Error::value("new_group", "a group needs at least one rank"));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let list = ranks.to_vec();
        self.submit("new_group", move |tr, c| {
            let _ = tx.send(tr.split(c, &list)?);
            Ok(())
        })?
        .wait()?;
        let sub = rx.recv().map_err(|_| Error::distributed("new_group", "the split reported nothing"))?;
        Ok(sub.map(|comm| {
            let g: Arc<dyn ProcessGroup> = Arc::new(Group {
                thread: self.thread.clone(),
                comm,
                rank: ranks.iter().position(|&r| r == self.rank).unwrap_or(0),
                world_ranks: ranks.iter().map(|&r| self.world_ranks[r]).collect(),
                timeout: self.timeout,
                backend: self.backend,
            });
            g
        }))
    }

    fn shutdown(&self) {
        // Subgroups share the world's thread; only the world's shutdown ends it.
        if self.comm == 0 {
            self.thread.shutdown();
        }
    }
}

/// `AVG` is a sum divided by the group's size, for floating-point tensors only.
fn check_avg(op_name: &'static str, t: &Tensor, op: ReduceOp) -> Result<()> {
    if op == ReduceOp::Avg && !t.dtype().is_float() {
        return Err(Error::value(op_name, format!("ReduceOp.AVG needs a floating-point tensor, got {}", t.dtype())));
    }
    Ok(())
}

fn average<S: Scalar>(buf: &mut [S], op: ReduceOp, size: usize) {
    if op == ReduceOp::Avg {
        buf.iter_mut().for_each(|v| *v = v.div_count(size));
    }
}

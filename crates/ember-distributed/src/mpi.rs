//! The MPI transport (Open MPI or any MPI, through rsmpi): the world communicator of the job
//! `mpirun` started, and subcommunicators for `new_group`. MPI is initialised, used and
//! finalised on the communication thread only (`MPI_THREAD_FUNNELED`). The all-reduce that
//! DDP's buckets use is posted non-blocking and polled with yields, so the communication thread
//! leaves the cores to backward while the reduction is in flight.

use crate::backend::{CommId, Group as EmberGroup, Transport};
use crate::comm::CommThread;
use crate::group::{ProcessGroup, ReduceOp};
use crate::scalar::Scalar;
use ember_core::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The communicators of this process; dropped before the universe, which finalises MPI.
pub(crate) struct Mpi {
    comms: HashMap<CommId, SimpleCommunicator>,
    next: CommId,
    _universe: mpi::environment::Universe,
}

fn system_op(op: ReduceOp) -> SystemOperation {
    match op {
        ReduceOp::Sum | ReduceOp::Avg => SystemOperation::sum(),
        ReduceOp::Product => SystemOperation::product(),
        ReduceOp::Min => SystemOperation::min(),
        ReduceOp::Max => SystemOperation::max(),
    }
}

impl Mpi {
    fn comm(&self, c: CommId) -> Result<&SimpleCommunicator> {
        self.comms.get(&c).ok_or_else(|| Error::distributed("mpi", format!("unknown communicator {c}")))
    }
}

fn rank_of(r: usize) -> i32 {
    r as i32
}

impl Transport for Mpi {
    fn all_reduce<T: Scalar>(&mut self, c: CommId, send: &[T], recv: &mut [T], op: ReduceOp) -> Result<()> {
        self.comm(c)?.all_reduce_into(send, recv, system_op(op));
        Ok(())
    }

    fn broadcast<T: Scalar>(&mut self, c: CommId, buf: &mut [T], root: usize) -> Result<()> {
        self.comm(c)?.process_at_rank(rank_of(root)).broadcast_into(buf);
        Ok(())
    }

    fn all_gather<T: Scalar>(&mut self, c: CommId, send: &[T], recv: &mut [T]) -> Result<()> {
        self.comm(c)?.all_gather_into(send, recv);
        Ok(())
    }

    fn reduce_scatter<T: Scalar>(&mut self, c: CommId, send: &[T], recv: &mut [T], op: ReduceOp) -> Result<()> {
        self.comm(c)?.reduce_scatter_block_into(send, recv, system_op(op));
        Ok(())
    }

    fn reduce<T: Scalar>(
        &mut self,
        c: CommId,
        send: &[T],
        recv: Option<&mut [T]>,
        root: usize,
        op: ReduceOp,
    ) -> Result<()> {
        let p = self.comm(c)?.process_at_rank(rank_of(root));
        match recv {
            Some(r) => p.reduce_into_root(send, r, system_op(op)),
            None => p.reduce_into(send, system_op(op)),
        }
        Ok(())
    }

    fn gather<T: Scalar>(&mut self, c: CommId, send: &[T], recv: Option<&mut [T]>, root: usize) -> Result<()> {
        let p = self.comm(c)?.process_at_rank(rank_of(root));
        match recv {
            Some(r) => p.gather_into_root(send, r),
            None => p.gather_into(send),
        }
        Ok(())
    }

    fn scatter<T: Scalar>(&mut self, c: CommId, send: Option<&[T]>, recv: &mut [T], root: usize) -> Result<()> {
        let p = self.comm(c)?.process_at_rank(rank_of(root));
        match send {
            Some(s) => p.scatter_into_root(s, recv),
            None => p.scatter_into(recv),
        }
        Ok(())
    }

    fn barrier(&mut self, c: CommId) -> Result<()> {
        self.comm(c)?.barrier();
        Ok(())
    }

    fn send<T: Scalar>(&mut self, c: CommId, buf: &[T], dst: usize, tag: i32) -> Result<()> {
        self.comm(c)?.process_at_rank(rank_of(dst)).send_with_tag(buf, tag);
        Ok(())
    }

    fn recv<T: Scalar>(&mut self, c: CommId, buf: &mut [T], src: usize, tag: i32) -> Result<()> {
        self.comm(c)?.process_at_rank(rank_of(src)).receive_into_with_tag(buf, tag);
        Ok(())
    }

    fn split(&mut self, c: CommId, ranks: &[usize]) -> Result<Option<CommId>> {
        let comm = self.comm(c)?;
        let ranks: Vec<i32> = ranks.iter().map(|&r| rank_of(r)).collect();
        let sub = comm.split_by_subgroup_collective(&comm.group().include(&ranks));
        Ok(sub.map(|s| {
            let id = self.next;
            self.next += 1;
            self.comms.insert(id, s);
            id
        }))
    }
}

/// Initialises MPI (on a new communication thread) and returns the world group of the job the
/// launcher started (`mpirun -np N`; a world of one without a launcher).
pub fn mpi_world(timeout: Duration) -> Result<Arc<dyn ProcessGroup>> {
    let (thread, (rank, size)) = CommThread::spawn("ember-mpi".into(), || {
        let (universe, _threading) = mpi::initialize_with_threading(mpi::Threading::Funneled).ok_or_else(|| {
            Error::distributed(
                "init_process_group",
                "MPI was already initialised in this process (MPI cannot be started again after destroy_process_group)",
            )
        })?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        let comms = HashMap::from([(0, world)]);
        Ok((Mpi { comms, next: 1, _universe: universe }, (rank, size)))
    })?;
    Ok(Arc::new(EmberGroup {
        thread: Arc::new(thread),
        comm: 0,
        rank,
        world_ranks: (0..size).collect(),
        timeout,
        backend: "mpi",
    }))
}

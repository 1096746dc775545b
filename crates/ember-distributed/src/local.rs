//! The in-process transport: `size` ranks as threads of one process, meeting at a shared hub.
//! It is the single-process implementation (a world of one, for programs run without a
//! launcher) and lets tests run multi-rank collectives and DDP without MPI. Every collective is
//! an exchange of every rank's buffer followed by the same local computation MPI defines, so it
//! doubles as a reference for the MPI results.

use crate::backend::{CommId, Group, Transport};
use crate::comm::CommThread;
use crate::group::{ProcessGroup, ReduceOp};
use crate::scalar::Scalar;
use ember_core::{Error, Result};
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

type Part = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
struct HubState {
    /// Contributions to the `seq`-th collective on a communicator, by rank.
    slots: HashMap<(CommId, u64), (Vec<Option<Part>>, usize)>,
    /// Point-to-point messages by (communicator, source, destination, tag).
    mail: HashMap<(CommId, usize, usize, i32), VecDeque<Part>>,
    /// Ids of communicators made by `split`, by the collective that made them.
    splits: HashMap<(CommId, u64), CommId>,
    next_comm: CommId,
}

/// Where the ranks meet.
struct Hub {
    state: Mutex<HubState>,
    cv: Condvar,
    timeout: Duration,
}

impl Hub {
    /// Waits on the condition variable until `ready` holds, or the timeout.
    fn wait_until<'a>(
        &self,
        mut g: MutexGuard<'a, HubState>,
        what: &str,
        mut ready: impl FnMut(&mut HubState) -> bool,
    ) -> Result<MutexGuard<'a, HubState>> {
        let deadline = Instant::now() + self.timeout;
        while !ready(&mut g) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::distributed(
                    "local",
                    format!("{what} timed out after {:.0?}: a rank did not reach it", self.timeout),
                ));
            }
            g = self.cv.wait_timeout(g, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        Ok(g)
    }
}

struct CommInfo {
    /// World ranks of the members, by communicator rank.
    members: Vec<usize>,
    me: usize,
    seq: u64,
}

/// One rank's side of the hub.
pub(crate) struct Local {
    hub: Arc<Hub>,
    comms: HashMap<CommId, CommInfo>,
}

impl Local {
    fn info(&mut self, c: CommId) -> Result<&mut CommInfo> {
        self.comms.get_mut(&c).ok_or_else(|| Error::distributed("local", format!("unknown communicator {c}")))
    }

    /// Every member's `part`, by rank: the one primitive the collectives below are built on.
    fn exchange(&mut self, c: CommId, part: Part) -> Result<Vec<Part>> {
        let hub = self.hub.clone();
        let info = self.info(c)?;
        let (key, n, me) = ((c, info.seq), info.members.len(), info.me);
        info.seq += 1;
        let mut g = hub.state.lock().unwrap_or_else(|e| e.into_inner());
        g.slots.entry(key).or_insert_with(|| (vec![None; n], 0)).0[me] = Some(part);
        hub.cv.notify_all();
        let mut g = hub.wait_until(g, "collective", |s| s.slots[&key].0.iter().all(Option::is_some))?;
        let slot = g.slots.get_mut(&key).expect("slot present while its ranks take it");
        let parts: Vec<Part> = slot.0.iter().map(|p| p.clone().expect("all parts present")).collect();
        slot.1 += 1;
        if slot.1 == n {
            g.slots.remove(&key);
        }
        Ok(parts)
    }

    fn exchange_vec<T: Scalar>(&mut self, c: CommId, v: &[T]) -> Result<Vec<Arc<Vec<T>>>> {
        self.exchange(c, Arc::new(v.to_vec()))?
            .into_iter()
            .map(|p| p.downcast::<Vec<T>>().map_err(|_| Error::distributed("local", "ranks sent different dtypes")))
            .collect()
    }
}

/// The elementwise reduction of block `block` (of `len` elements) of every part.
fn fold<T: Scalar>(parts: &[Arc<Vec<T>>], block: usize, len: usize, op: ReduceOp) -> Result<Vec<T>> {
    let range = block * len..(block + 1) * len;
    let first = parts[0].get(range.clone()).ok_or_else(|| Error::distributed("local", "ranks sent different sizes"))?;
    let mut acc = first.to_vec();
    for p in &parts[1..] {
        let p = p.get(range.clone()).ok_or_else(|| Error::distributed("local", "ranks sent different sizes"))?;
        acc.iter_mut().zip(p).for_each(|(a, &b)| *a = T::combine(*a, b, op));
    }
    Ok(acc)
}

fn copy<T: Copy>(dst: &mut [T], src: &[T]) -> Result<()> {
    if dst.len() != src.len() {
        return Err(Error::distributed(
            "local",
            format!("ranks sent {} elements where {} were expected", src.len(), dst.len()),
        ));
    }
    dst.copy_from_slice(src);
    Ok(())
}

impl Transport for Local {
    fn all_reduce<T: Scalar>(&mut self, c: CommId, send: &[T], recv: &mut [T], op: ReduceOp) -> Result<()> {
        let parts = self.exchange_vec(c, send)?;
        copy(recv, &fold(&parts, 0, send.len(), op)?)
    }

    fn broadcast<T: Scalar>(&mut self, c: CommId, buf: &mut [T], root: usize) -> Result<()> {
        let parts = self.exchange_vec(c, buf)?;
        copy(buf, &parts[root])
    }

    fn all_gather<T: Scalar>(&mut self, c: CommId, send: &[T], recv: &mut [T]) -> Result<()> {
        let parts = self.exchange_vec(c, send)?;
        copy(recv, &parts.iter().flat_map(|p| p.iter().copied()).collect::<Vec<T>>())
    }

    fn reduce_scatter<T: Scalar>(&mut self, c: CommId, send: &[T], recv: &mut [T], op: ReduceOp) -> Result<()> {
        let me = self.info(c)?.me;
        let parts = self.exchange_vec(c, send)?;
        copy(recv, &fold(&parts, me, recv.len(), op)?)
    }

    fn reduce<T: Scalar>(
        &mut self,
        c: CommId,
        send: &[T],
        recv: Option<&mut [T]>,
        _root: usize,
        op: ReduceOp,
    ) -> Result<()> {
        let parts = self.exchange_vec(c, send)?;
        match recv {
            Some(r) => copy(r, &fold(&parts, 0, send.len(), op)?),
            None => Ok(()),
        }
    }

    fn gather<T: Scalar>(&mut self, c: CommId, send: &[T], recv: Option<&mut [T]>, _root: usize) -> Result<()> {
        let parts = self.exchange_vec(c, send)?;
        match recv {
            Some(r) => copy(r, &parts.iter().flat_map(|p| p.iter().copied()).collect::<Vec<T>>()),
            None => Ok(()),
        }
    }

    fn scatter<T: Scalar>(&mut self, c: CommId, send: Option<&[T]>, recv: &mut [T], root: usize) -> Result<()> {
        let me = self.info(c)?.me;
        let parts = self.exchange_vec(c, send.unwrap_or(&[]))?;
        let n = recv.len();
        let block =
            parts[root].get(me * n..(me + 1) * n).ok_or_else(|| Error::distributed("local", "scatter sizes differ"))?;
        copy(recv, block)
    }

    fn barrier(&mut self, c: CommId) -> Result<()> {
        self.exchange(c, Arc::new(())).map(drop)
    }

    fn send<T: Scalar>(&mut self, c: CommId, buf: &[T], dst: usize, tag: i32) -> Result<()> {
        let me = self.info(c)?.me;
        let mut g = self.hub.state.lock().unwrap_or_else(|e| e.into_inner());
        g.mail.entry((c, me, dst, tag)).or_default().push_back(Arc::new(buf.to_vec()));
        self.hub.cv.notify_all();
        Ok(())
    }

    fn recv<T: Scalar>(&mut self, c: CommId, buf: &mut [T], src: usize, tag: i32) -> Result<()> {
        let key = (c, src, self.info(c)?.me, tag);
        let hub = self.hub.clone();
        let g = hub.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut g = hub.wait_until(g, "recv", |s| s.mail.get(&key).is_some_and(|q| !q.is_empty()))?;
        let part = g.mail.get_mut(&key).and_then(VecDeque::pop_front).expect("a message is queued");
        drop(g);
        let v = part.downcast::<Vec<T>>().map_err(|_| Error::distributed("recv", "sender used another dtype"))?;
        copy(buf, &v)
    }

    fn split(&mut self, c: CommId, ranks: &[usize]) -> Result<Option<CommId>> {
        let seq = self.info(c)?.seq;
        self.barrier(c)?;
        let id = {
            let mut g = self.hub.state.lock().unwrap_or_else(|e| e.into_inner());
            let next = g.next_comm;
            let id = *g.splits.entry((c, seq)).or_insert(next);
            if id == next {
                g.next_comm += 1;
            }
            id
        };
        let info = self.info(c)?;
        let Some(me) = ranks.iter().position(|&r| r == info.me) else { return Ok(None) };
        let members = ranks.iter().map(|&r| info.members[r]).collect();
        self.comms.insert(id, CommInfo { members, me, seq: 0 });
        Ok(Some(id))
    }
}

/// A world of `size` ranks in this process, one group per rank (give each to its own thread).
/// Collectives wait at most `timeout` for the other ranks.
pub fn local_world(size: usize, timeout: Duration) -> Result<Vec<Arc<dyn ProcessGroup>>> {
    if size == 0 {
        return Err(Error::value("local_world", "a world needs at least one rank"));
    }
    let hub = Arc::new(Hub {
        state: Mutex::new(HubState { next_comm: 1, ..Default::default() }),
        cv: Condvar::new(),
        timeout,
    });
    (0..size)
        .map(|rank| {
            let hub = hub.clone();
            let (thread, ()) = CommThread::spawn(format!("ember-comm-{rank}"), move || {
                let world = CommInfo { members: (0..size).collect(), me: rank, seq: 0 };
                Ok((Local { hub, comms: HashMap::from([(0, world)]) }, ()))
            })?;
            let g: Arc<dyn ProcessGroup> = Arc::new(Group {
                thread: Arc::new(thread),
                comm: 0,
                rank,
                world_ranks: (0..size).collect(),
                timeout,
                backend: "local",
            });
            Ok(g)
        })
        .collect()
}

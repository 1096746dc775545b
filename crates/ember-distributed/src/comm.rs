//! The communication thread: one per process, shared by every group. Collectives are queued
//! to it in the order the program issues them and run there one after another, so the caller
//! goes on computing while they run (DDP overlaps gradient reduction with backward this way),
//! and every rank issues collectives on a communicator in the same order, as MPI requires.
//! MPI itself is initialised and finalised on this thread (so `MPI_THREAD_FUNNELED` suffices).

use crate::work::Work;
use ember_core::{Error, Result};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

/// A unit of work for the thread, given the transport it owns.
type Job<T> = Box<dyn FnOnce(&mut T) + Send>;

/// The thread and its queue; dropping it lets the thread finish its queue, drop the transport
/// (finalising MPI) and exit.
pub(crate) struct CommThread<T: 'static> {
    jobs: Mutex<Option<mpsc::Sender<Job<T>>>>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl<T: 'static> std::fmt::Debug for CommThread<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommThread")
    }
}

impl<T: 'static> CommThread<T> {
    /// Starts the thread; `init` builds the transport there. Returns what `init` reported
    /// alongside it (the rank and world size).
    pub(crate) fn spawn<I: Send + 'static>(
        name: String,
        init: impl FnOnce() -> Result<(T, I)> + Send + 'static,
    ) -> Result<(CommThread<T>, I)> {
        let (tx, rx) = mpsc::channel::<Job<T>>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<I>>();
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let mut transport = match init() {
                    Ok((t, info)) => {
                        let _ = ready_tx.send(Ok(info));
                        t
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    job(&mut transport);
                }
            })
            .map_err(|e| Error::io("starting the communication thread", e))?;
        match ready_rx.recv() {
            Ok(Ok(info)) => Ok((CommThread { jobs: Mutex::new(Some(tx)), handle: Mutex::new(Some(handle)) }, info)),
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => Err(Error::distributed("init_process_group", "the communication thread ended during start-up")),
        }
    }

    /// Queues `f`; the returned handle completes with its result.
    pub(crate) fn submit(
        &self,
        what: String,
        timeout: Duration,
        f: impl FnOnce(&mut T) -> Result<()> + Send + 'static,
    ) -> Result<Work> {
        let work = Work::new(what, timeout);
        let done = work.clone();
        let job: Job<T> = Box::new(move |t| done.finish(f(t)));
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let sent = jobs.as_ref().map(|tx| tx.send(job).is_ok()).unwrap_or(false);
        if !sent {
            return Err(Error::distributed("submit", "the process group has been destroyed"));
        }
        Ok(work)
    }

    /// Lets the queue drain, then ends the thread (finalising MPI there).
    pub(crate) fn shutdown(&self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = self.handle.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl<T: 'static> Drop for CommThread<T> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

//! `Work`: the handle an asynchronous collective returns (`async_op=True` in PyTorch). The
//! communication thread fills it in; `wait()` blocks until then, or until the group's timeout,
//! so a peer that died ends in an error instead of a silent hang.

use ember_core::{Error, Result};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Slot {
    /// `None` while running; then the outcome (errors as text, since every `wait` reports it).
    done: Option<std::result::Result<(), String>>,
}

/// A pending collective: `wait()` for it, or poll `is_completed()`.
#[derive(Debug, Clone)]
pub struct Work {
    slot: Arc<(Mutex<Slot>, Condvar)>,
    what: String,
    timeout: Duration,
}

impl Work {
    /// A handle for the operation described by `what`, to be finished with [`Work::finish`].
    pub(crate) fn new(what: String, timeout: Duration) -> Work {
        Work { slot: Arc::default(), what, timeout }
    }

    /// Records the outcome and wakes the waiters.
    pub(crate) fn finish(&self, r: Result<()>) {
        let (m, cv) = &*self.slot;
        m.lock().unwrap_or_else(|e| e.into_inner()).done = Some(r.map_err(|e| e.message()));
        cv.notify_all();
    }

    /// Whether the operation has finished (successfully or not).
    pub fn is_completed(&self) -> bool {
        self.slot.0.lock().unwrap_or_else(|e| e.into_inner()).done.is_some()
    }

    /// Blocks until the operation has finished; its error, or a timeout error naming the
    /// operation when it has not finished within the group's timeout.
    pub fn wait(&self) -> Result<()> {
        self.wait_timeout(self.timeout)
    }

    /// [`Work::wait`] with an explicit timeout.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        let (m, cv) = &*self.slot;
        let deadline = Instant::now() + timeout;
        let mut slot = m.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(done) = &slot.done {
                return done.clone().map_err(|msg| Error::distributed("wait", msg));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::distributed(
                    "wait",
                    format!(
                        "{} did not finish within {:.0?}: a rank may have failed or not reached the same collective",
                        self.what, timeout
                    ),
                ));
            }
            slot = cv.wait_timeout(slot, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

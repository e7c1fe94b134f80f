//! Where lakefed's work runs: on the caller's Tokio runtime. lakefed starts
//! no runtime and no thread of its own.
//!
//! Queries run where the caller polls them. What lakefed sends on its own —
//! the interrupt of a remote operation whose query was dropped, the release
//! of its buffered results, the cancel of an abandoned statement, the end of
//! a Spark session — runs as tasks of a [`BackgroundWork`]: on the runtime
//! the session's sources were registered on, tracked so that
//! [`SessionContextExt::shutdown`](crate::SessionContextExt::shutdown) can
//! wait for them before the program exits.
//!
//! Three synchronous DataFusion callbacks need I/O (a catalog listing asked
//! for outside a query, `delta_scan`'s table, `CREATE TABLE AS` into a Delta
//! directory; see [`catalog`](crate::catalog)). They run the I/O on the
//! calling worker thread with [`tokio::task::block_in_place`], which needs a
//! multi-threaded runtime; on a current-thread runtime they fail with an
//! error saying so.

use std::future::Future;

use datafusion::prelude::SessionContext;
use tokio::runtime::{EnterGuard, Handle, RuntimeFlavor};
use tokio_util::task::TaskTracker;

use crate::error::{Error, Result};

/// The background requests of a session (or of a client): run on one Tokio
/// runtime and tracked until they finish. Cheap to clone; clones share the
/// same tasks.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> lakefed::Result<()> {
/// let work = lakefed::BackgroundWork::current()?;
/// assert_eq!(work.pending(), 0);
/// work.finished().await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BackgroundWork {
    handle: Handle,
    tasks: TaskTracker,
}

impl BackgroundWork {
    /// Background work on the runtime of `handle`.
    pub fn new(handle: Handle) -> Self {
        Self {
            handle,
            tasks: TaskTracker::new(),
        }
    }

    /// Background work on the runtime the caller runs on; an error outside
    /// one.
    pub fn current() -> Result<Self> {
        Handle::try_current().map(Self::new).map_err(|_| {
            Error::InvalidArgument(
                "lakefed's remote sources run on the caller's Tokio runtime: register them \
                 from within one (e.g. under #[tokio::main] or Runtime::enter), or hand the \
                 session one with SessionContextExt::use_background_work"
                    .to_string(),
            )
        })
    }

    /// Background requests started and not finished yet.
    pub fn pending(&self) -> usize {
        self.tasks.len()
    }

    /// Waits until every background request started so far has finished.
    /// Each one is bounded by its source's request timeout.
    pub async fn finished(&self) {
        // A closed tracker still runs and tracks new tasks; it stays closed
        // so that concurrent waiters all see it empty.
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// Runs `future` in the background without waiting for it: callable from
    /// `Drop`, where no runtime may be current. If the runtime has shut
    /// down, the request is not sent.
    pub(crate) fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn_on(future, &self.handle);
    }

    /// Enters the runtime, so that what the caller builds (a gRPC channel's
    /// connection tasks) is spawned there.
    pub(crate) fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }
}

/// The background work of `ctx`: the one it was handed or, on first use, one
/// on the caller's runtime.
pub(crate) fn of_session(ctx: &SessionContext) -> Result<BackgroundWork> {
    let state = ctx.state_ref();
    if let Some(work) = state.read().config().get_extension::<BackgroundWork>() {
        return Ok(work.as_ref().clone());
    }
    let work = BackgroundWork::current()?;
    install(ctx, work.clone());
    Ok(work)
}

/// The background work of `ctx`, if it has any.
pub(crate) fn installed(ctx: &SessionContext) -> Option<BackgroundWork> {
    let state = ctx.state_ref();
    let state = state.read();
    let work = state.config().get_extension::<BackgroundWork>();
    work.map(|work| work.as_ref().clone())
}

/// Makes `work` the background work of `ctx`.
pub(crate) fn install(ctx: &SessionContext, work: BackgroundWork) {
    let state = ctx.state_ref();
    state
        .write()
        .config_mut()
        .set_extension(std::sync::Arc::new(work));
}

/// Runs `future` to completion on the calling thread, for DataFusion's
/// synchronous callbacks that need I/O (`what` names the callback in the
/// error). The thread must be a worker of a multi-threaded runtime (or the
/// thread of its `block_on`), whose other workers keep running meanwhile.
pub(crate) fn block_on<F: Future>(what: &str, future: F) -> Result<F::Output> {
    let needs = || {
        Error::InvalidArgument(format!(
            "{what} does I/O inside a synchronous DataFusion call, which needs a \
             multi-threaded Tokio runtime (#[tokio::main]'s default; \
             #[tokio::test(flavor = \"multi_thread\")])"
        ))
    };
    let handle = Handle::try_current().map_err(|_| needs())?;
    match handle.runtime_flavor() {
        RuntimeFlavor::MultiThread => Ok(tokio::task::block_in_place(|| handle.block_on(future))),
        _ => Err(needs()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn outside_a_runtime_there_is_no_current_background_work() {
        let err = BackgroundWork::current().unwrap_err().to_string();
        assert!(err.contains("Tokio runtime"), "{err}");
    }

    /// Work spawned from a thread outside the runtime (as from `Drop`) runs
    /// there, and every waiter sees it finished.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn finished_waits_for_work_spawned_from_any_thread() {
        let work = BackgroundWork::current().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let (spawner, flag) = (work.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            spawner.spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                flag.store(true, Ordering::SeqCst);
            })
        })
        .join()
        .unwrap();
        assert_eq!(work.pending(), 1);
        tokio::join!(work.finished(), work.finished());
        assert!(done.load(Ordering::SeqCst));
        assert_eq!(work.pending(), 0);
        // Still usable after a wait.
        work.spawn(async {});
        work.finished().await;
        assert_eq!(work.pending(), 0);
    }
}

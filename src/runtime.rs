//! A small runtime for the few places where DataFusion asks a synchronous
//! question that needs I/O to answer (a table function's schema, a listing
//! asked for outside a query, `CREATE TABLE AS` into a Delta schema; see
//! [`catalog`](crate::catalog)), and the home of
//! long-lived connections (Spark Connect channels) and of fire-and-forget
//! requests sent from `Drop`.
//!
//! The work runs on one long-lived multi-threaded runtime, so connection pools
//! created there stay valid for later asynchronous reads, and the caller's
//! thread waits on a channel. This works whatever runtime (or none) the caller
//! is on, and never nests `block_on` inside a Tokio worker.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Runtime};

use crate::error::{Error, Result};

fn io_runtime() -> Result<&'static Runtime> {
    static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("lakefed-io")
                .enable_all()
                .build()
                .map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|err| Error::InvalidArgument(format!("cannot start the I/O runtime: {err}")))
}

/// Runs `future` on lakefed's I/O runtime without waiting for it. Used for
/// best-effort requests (release buffered results, interrupt an operation)
/// that may be sent from `Drop`, where no runtime may be current.
pub(crate) fn spawn_io<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    if let Ok(runtime) = io_runtime() {
        BACKGROUND_REQUESTS.fetch_add(1, Ordering::SeqCst);
        runtime.spawn(async move {
            future.await;
            BACKGROUND_REQUESTS.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Background requests started by [`spawn_io`] and not yet finished.
static BACKGROUND_REQUESTS: AtomicUsize = AtomicUsize::new(0);

/// Waits, at most `timeout`, for background requests (interrupts of
/// cancelled remote queries, releases of their results) to reach their
/// servers. A program that exits right after cancelling a query calls this
/// first, or the remote operation may keep running.
pub fn finish_background_requests(timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while BACKGROUND_REQUESTS.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `build` inside lakefed's I/O runtime, so that whatever it spawns (a
/// gRPC channel's connection tasks) lives there, not on a caller's runtime
/// that may end first.
pub(crate) fn within_io<T>(build: impl FnOnce() -> T) -> Result<T> {
    let _guard = io_runtime()?.enter();
    Ok(build())
}

/// Runs `future` on lakefed's I/O runtime and waits for its result.
pub(crate) fn block_on_io<F, T>(future: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    io_runtime()?.spawn(async move {
        // The receiver only goes away if the waiting thread died.
        let _ = sender.send(future.await);
    });
    receiver
        .recv()
        .map_err(|_| Error::InvalidArgument("the I/O task ended without an answer".to_string()))?
}

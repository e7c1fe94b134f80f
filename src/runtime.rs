//! A small runtime for the few places where DataFusion asks a synchronous
//! question that needs storage I/O to answer (a table function's schema, a
//! schema's table names, `CREATE TABLE AS` into a Delta schema).
//!
//! The work runs on one long-lived multi-threaded runtime, so connection pools
//! created there stay valid for later asynchronous reads, and the caller's
//! thread waits on a channel. This works whatever runtime (or none) the caller
//! is on, and never nests `block_on` inside a Tokio worker.

use std::future::Future;
use std::sync::OnceLock;

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

//! Waiting for lakefed's asynchronous work from Python: with the GIL
//! released, and interruptible.
//!
//! The work runs as a task on the binding's Tokio runtime while the calling
//! thread waits in short slices; between slices it takes the GIL back to
//! run Python's signal handlers. When one raises (Ctrl-C, a notebook's
//! interrupt: `KeyboardInterrupt`), the task is aborted, which drops what it
//! owns: a query's result stream, whose remote scans then interrupt their
//! operations on the server.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use lakefed::BackgroundWork;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::{Builder, Runtime};

/// How often a waiting call looks for signals (and reports progress).
pub const TICK: Duration = Duration::from_millis(100);

/// The runtime that plans and runs queries for Python callers.
fn runtime() -> PyResult<&'static Runtime> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .thread_name("lakefed-py")
                .enable_all()
                .build()
                .map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|err| PyRuntimeError::new_err(format!("cannot start lakefed's runtime: {err}")))
}

/// The background requests of every session of the binding (interrupts of
/// cancelled remote operations, ends of Spark sessions), on its runtime.
pub fn background() -> PyResult<&'static BackgroundWork> {
    static BACKGROUND: OnceLock<BackgroundWork> = OnceLock::new();
    let runtime = runtime()?;
    Ok(BACKGROUND.get_or_init(|| BackgroundWork::new(runtime.handle().clone())))
}

/// Waits, at most `timeout`, for the background requests of every session
/// to finish.
pub fn finish_background(py: Python<'_>, timeout: Duration) -> PyResult<()> {
    let (runtime, background) = (runtime()?, background()?);
    py.detach(|| {
        runtime.block_on(async {
            let _ = tokio::time::timeout(timeout, background.finished()).await;
        })
    });
    Ok(())
}

/// Runs `future` to completion with the GIL released; see the module docs.
pub fn wait_for<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    wait_for_with(py, future, |_| Ok(()))
}

/// Like [`wait_for`], calling `on_tick` (with the GIL held) after every
/// slice of [`TICK`] that ends without a result.
pub fn wait_for_with<F>(
    py: Python<'_>,
    future: F,
    mut on_tick: impl FnMut(Python<'_>) -> PyResult<()>,
) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = runtime()?;
    let mut task = runtime.spawn(future);
    loop {
        let slice =
            py.detach(|| runtime.block_on(async { tokio::time::timeout(TICK, &mut task).await }));
        match slice {
            Ok(Ok(output)) => return Ok(output),
            Ok(Err(err)) => {
                return Err(PyRuntimeError::new_err(format!(
                    "lakefed's task failed unexpectedly: {err}"
                )));
            }
            Err(_elapsed) => {
                if let Err(err) = py.check_signals().and_then(|()| on_tick(py)) {
                    // Wait until the task has dropped what it owned, so the
                    // remote interrupts are under way when this returns.
                    task.abort();
                    let _ = py.detach(|| runtime.block_on(task));
                    return Err(err);
                }
            }
        }
    }
}

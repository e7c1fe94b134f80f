//! `lakefed._lakefed`: the native half of the `lakefed` Python package.
//!
//! It wraps lakefed's DataFusion session for Python: registering sources,
//! planning SQL, and handing results to pyarrow through the Arrow C data
//! interface. Every call that may wait (planning can reach a remote catalog,
//! running always can) releases the GIL and stays interruptible by Ctrl-C;
//! see [`wait`]. Presentation (HTML, progress, the exception classes) lives
//! in the Python half, `python/lakefed/`.

mod context;
mod dataframe;
mod errors;
mod params;
mod stream;
mod wait;

use std::time::Duration;

use pyo3::prelude::*;

/// Waits, at most `timeout` seconds, for the interrupts of cancelled remote
/// operations to reach their servers. The package calls it at interpreter
/// exit.
#[pyfunction]
fn finish_background_requests(py: Python<'_>, timeout: f64) -> PyResult<()> {
    let timeout = Duration::try_from_secs_f64(timeout).unwrap_or_default();
    wait::finish_background(py, timeout)
}

#[pymodule]
fn _lakefed(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<context::SessionContext>()?;
    module.add_class::<dataframe::DataFrame>()?;
    module.add_class::<stream::RecordBatchStream>()?;
    module.add_function(wrap_pyfunction!(finish_background_requests, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

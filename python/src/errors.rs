//! lakefed's errors as Python exceptions of the `lakefed.errors` hierarchy.
//!
//! The classes are defined in Python (`lakefed/errors.py`), where multiple
//! bases (`InvalidArgumentError` is also a `ValueError`) and attributes
//! (`RemoteError.sql_state`) are plain; this module picks the class for an
//! error and raises it with the engine's message.

use datafusion::error::DataFusionError;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// The Python exception for a lakefed error.
pub fn from_lakefed(err: lakefed::Error) -> PyErr {
    Python::attach(|py| exception_for(py, &err, err.to_string()))
}

/// The Python exception for a DataFusion error: the class of the lakefed
/// error inside it when there is one, else a planning or an execution error.
pub fn from_datafusion(err: DataFusionError) -> PyErr {
    Python::attach(|py| {
        if let Some(inner) = find_lakefed_error(&err) {
            return exception_for(py, inner, inner.to_string());
        }
        let class = match err.find_root() {
            DataFusionError::SQL(..)
            | DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..)
            | DataFusionError::NotImplemented(_)
            | DataFusionError::Configuration(_) => "PlanError",
            _ => "ExecutionError",
        };
        raise(py, class, err.strip_backtrace(), &[])
    })
}

fn find_lakefed_error(err: &DataFusionError) -> Option<&lakefed::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<lakefed::Error>() {
            return match found {
                lakefed::Error::DataFusion(inner) => find_lakefed_error(inner).or(Some(found)),
                _ => Some(found),
            };
        }
        current = err.source();
    }
    None
}

fn exception_for(py: Python<'_>, err: &lakefed::Error, message: String) -> PyErr {
    use lakefed::Error as E;
    match err {
        E::Config { .. } => raise(py, "ConfigError", message, &[]),
        E::InvalidArgument(_) => raise(py, "InvalidArgumentError", message, &[]),
        E::NotATable { .. } => raise(py, "NotATableError", message, &[]),
        E::Delta { .. } | E::UnsupportedProtocol { .. } | E::InvalidLog { .. } => {
            raise(py, "DeltaError", message, &[])
        }
        E::Storage { .. } => raise(py, "StorageError", message, &[]),
        E::Remote {
            endpoint,
            error_class,
            sql_state,
            ..
        } => raise(
            py,
            "RemoteError",
            message,
            &[
                ("endpoint", Some(endpoint.as_str())),
                ("error_class", error_class.as_deref()),
                ("sql_state", sql_state.as_deref()),
            ],
        ),
        E::Unreachable { endpoint, .. } => raise(
            py,
            "UnreachableError",
            message,
            &[("endpoint", Some(endpoint.as_str()))],
        ),
        E::DataFusion(_) => raise(py, "ExecutionError", message, &[]),
        _ => raise(py, "Error", message, &[]),
    }
}

/// An instance of `lakefed.errors.<class>` with `message` and attributes.
fn raise(
    py: Python<'_>,
    class: &str,
    message: String,
    attributes: &[(&str, Option<&str>)],
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let exception = py
            .import("lakefed.errors")?
            .getattr(class)?
            .call1((message.clone(),))?;
        for (name, value) in attributes {
            exception.setattr(*name, *value)?;
        }
        Ok(PyErr::from_value(exception))
    };
    build().unwrap_or_else(|err| {
        PyRuntimeError::new_err(format!("{message} (and lakefed.errors is unusable: {err})"))
    })
}

/// The error of reading from a query that Ctrl-C cancelled.
pub fn cancelled() -> PyErr {
    Python::attach(|py| {
        raise(
            py,
            "ExecutionError",
            "the query was cancelled; run it again for its result".to_string(),
            &[],
        )
    })
}

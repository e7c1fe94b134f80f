//! A query's result as an iterator of `pyarrow.RecordBatch`es, read as the
//! engine produces them.

use std::sync::{Mutex, MutexGuard};

use arrow_pyarrow::ToPyArrow;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::errors;
use crate::wait::wait_for;

/// The batches of a running query. Iterating waits for each batch with the
/// GIL released; Ctrl-C cancels the query (including its remote
/// operations), as does `close()` or leaving a `with` block early.
#[pyclass(module = "lakefed", frozen)]
pub struct RecordBatchStream {
    schema: SchemaRef,
    state: Mutex<State>,
}

enum State {
    /// Between batches.
    Ready(SendableRecordBatchStream),
    /// A thread is waiting for the next batch.
    Reading,
    /// All batches were read, the query failed, or the stream was closed.
    Finished,
    /// Interrupted while waiting: the query was cancelled.
    Cancelled,
}

impl RecordBatchStream {
    /// Wraps a running query's stream.
    pub fn new(stream: SendableRecordBatchStream) -> Self {
        Self {
            schema: stream.schema(),
            state: Mutex::new(State::Ready(stream)),
        }
    }

    /// The schema of every batch.
    pub fn arrow_schema(&self) -> SchemaRef {
        SchemaRef::clone(&self.schema)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[pymethods]
impl RecordBatchStream {
    /// The schema of every batch, as a `pyarrow.Schema`.
    #[getter]
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.schema.to_pyarrow(py)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let previous = std::mem::replace(&mut *self.state(), State::Reading);
        let mut stream = match previous {
            State::Ready(stream) => stream,
            State::Finished => {
                *self.state() = State::Finished;
                return Ok(None);
            }
            State::Reading => {
                return Err(PyRuntimeError::new_err(
                    "another thread is reading this stream",
                ));
            }
            State::Cancelled => {
                *self.state() = State::Cancelled;
                return Err(errors::cancelled());
            }
        };
        let next = wait_for(py, async move {
            let next = stream.next().await;
            (stream, next)
        });
        let (stream, next) = match next {
            Ok(next) => next,
            Err(interrupted) => {
                // The aborted task dropped the stream, cancelling the query.
                *self.state() = State::Cancelled;
                return Err(interrupted);
            }
        };
        match next {
            Some(Ok(batch)) => {
                *self.state() = State::Ready(stream);
                batch.to_pyarrow(py).map(Some)
            }
            Some(Err(err)) => {
                *self.state() = State::Finished;
                Err(errors::from_datafusion(err))
            }
            None => {
                *self.state() = State::Finished;
                Ok(None)
            }
        }
    }

    /// Stops the query and releases what it holds; further iteration ends
    /// at once.
    fn close(&self) {
        let mut state = self.state();
        if let State::Ready(_) = *state {
            *state = State::Finished;
        }
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, _exc_info: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}

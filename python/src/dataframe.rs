//! A planned query: run it into Arrow, pandas or Polars, stream it, explain
//! it, or show a preview in a notebook.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arrow_pyarrow::{IntoPyArrow, Table, ToPyArrow};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::stats::Precision;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::{ExecutionPlan, StatisticsArgs, StatisticsContext, execute_stream};
use futures::StreamExt;
use lakefed::remote_scans;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::errors;
use crate::stream::RecordBatchStream;
use crate::wait::{wait_for, wait_for_with};

/// Rows shown by a notebook's preview.
const PREVIEW_ROWS: usize = 10;

/// A query, planned and not yet run. Each method that returns data runs it
/// (again); `to_batches()` streams, the others collect.
#[pyclass(module = "lakefed", frozen)]
pub struct DataFrame {
    df: datafusion::dataframe::DataFrame,
    progress: bool,
}

impl DataFrame {
    /// Wraps a DataFusion DataFrame; `progress` shows progress while
    /// collecting.
    pub fn new(df: datafusion::dataframe::DataFrame, progress: bool) -> Self {
        Self { df, progress }
    }

    /// Runs the query and collects its batches, reporting progress.
    fn collect(&self, py: Python<'_>) -> PyResult<(SchemaRef, Vec<RecordBatch>)> {
        let df = self.df.clone();
        let counters = Arc::new(Counters::default());
        let received = Arc::clone(&counters);
        let run = async move {
            let mut stream = df.execute_stream().await?;
            let schema = stream.schema();
            let mut batches = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                received.add(&batch);
                batches.push(batch);
            }
            Ok::<_, DataFusionError>((schema, batches))
        };
        let reporter = match self.progress {
            true => Some(py.import("lakefed._progress")?.call_method0("reporter")?),
            false => None,
        }
        .filter(|reporter| !reporter.is_none());
        let started = Instant::now();
        let report = |_: Python<'_>| -> PyResult<()> {
            if let Some(reporter) = &reporter {
                let (rows, bytes) = counters.get();
                let seconds = started.elapsed().as_secs_f64();
                reporter.call_method1("update", (rows, bytes, seconds))?;
            }
            Ok(())
        };
        let result = wait_for_with(py, run, report);
        if let Some(reporter) = &reporter {
            reporter.call_method0("close")?;
        }
        result?.map_err(errors::from_datafusion)
    }
}

#[pymethods]
impl DataFrame {
    /// The result's schema, as a `pyarrow.Schema` (known without running).
    #[getter]
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.df.schema().as_arrow().to_pyarrow(py)
    }

    /// Runs the query; its whole result as a `pyarrow.Table`.
    fn to_arrow<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (schema, batches) = self.collect(py)?;
        Table::try_new(batches, schema)
            .map_err(|err| errors::from_datafusion(err.into()))?
            .into_pyarrow(py)
    }

    /// Runs the query; its whole result as a `pandas.DataFrame`.
    fn to_pandas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.to_arrow(py)?.call_method0("to_pandas")
    }

    /// Runs the query; its whole result as a `polars.DataFrame`.
    fn to_polars<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let table = self.to_arrow(py)?;
        py.import("polars")?.call_method1("from_arrow", (table,))
    }

    /// Starts the query; its batches as they arrive.
    fn to_batches(&self, py: Python<'_>) -> PyResult<RecordBatchStream> {
        let df = self.df.clone();
        let stream = wait_for(py, df.execute_stream())?.map_err(errors::from_datafusion)?;
        Ok(RecordBatchStream::new(stream))
    }

    /// The Arrow PyCapsule stream protocol: pyarrow, Polars and DuckDB read
    /// the result batch by batch, without a copy.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let stream = self.to_batches(py)?;
        let schema = stream.arrow_schema().to_pyarrow(py)?;
        let reader = py
            .import("pyarrow")?
            .getattr("RecordBatchReader")?
            .call_method1("from_batches", (schema, Bound::new(py, stream)?))?;
        reader.call_method1("__arrow_c_stream__", (requested_schema,))
    }

    /// Runs the query and returns its number of rows.
    fn count(&self, py: Python<'_>) -> PyResult<usize> {
        let df = self.df.clone();
        wait_for(py, df.count())?.map_err(errors::from_datafusion)
    }

    /// The first `n` rows after skipping `offset`, as a new DataFrame (the
    /// limit reaches the sources like a SQL `LIMIT`).
    #[pyo3(signature = (n, offset = 0))]
    fn limit(&self, n: usize, offset: usize) -> PyResult<DataFrame> {
        let df = self
            .df
            .clone()
            .limit(offset, Some(n))
            .map_err(errors::from_datafusion)?;
        Ok(DataFrame::new(df, self.progress))
    }

    /// The query's plans: logical and physical, with the SQL each remote
    /// scan sends; with `analyze`, runs the query and shows every
    /// operator's metrics instead.
    #[pyo3(signature = (analyze = false, verbose = false))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        analyze: bool,
        verbose: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let df = self
            .df
            .clone()
            .explain(verbose, analyze)
            .map_err(errors::from_datafusion)?;
        let batches = wait_for(py, df.collect())?.map_err(errors::from_datafusion)?;
        let mut text = String::new();
        for batch in &batches {
            let (Some(kinds), Some(plans)) = (
                batch.column(0).as_string_opt::<i32>(),
                batch.column(1).as_string_opt::<i32>(),
            ) else {
                continue;
            };
            for row in 0..batch.num_rows() {
                text.push_str(&format!("{}:\n{}\n", kinds.value(row), plans.value(row)));
            }
        }
        py.import("lakefed._display")?
            .call_method1("PlanText", (text,))
    }

    /// The Spark SQL each remote scan sends when the query runs, as
    /// `(source, sql)` pairs.
    fn remote_queries(&self, py: Python<'_>) -> PyResult<Vec<(String, String)>> {
        let df = self.df.clone();
        let plan = wait_for(py, async move { df.create_physical_plan().await })?
            .map_err(errors::from_datafusion)?;
        Ok(remote_queries(&plan))
    }

    /// A notebook's view: the first rows, the schema, the row count when
    /// known, and the SQL sent to each remote source.
    fn _repr_html_<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let df = self.df.clone();
        let preview = wait_for(py, async move {
            let task_ctx = Arc::new(df.task_ctx());
            let plan = df.create_physical_plan().await?;
            let remote = remote_queries(&plan);
            let known_rows = exact_rows(&plan)?;
            let schema = plan.schema();
            let mut stream = execute_stream(plan, task_ctx)?;
            let mut batches = Vec::new();
            let mut rows = 0;
            let mut complete = false;
            while rows <= PREVIEW_ROWS {
                match stream.next().await {
                    Some(batch) => {
                        let batch = batch?;
                        rows += batch.num_rows();
                        batches.push(batch);
                    }
                    None => {
                        complete = true;
                        break;
                    }
                }
            }
            let first = concat_batches(&schema, &batches)?;
            let first = first.slice(0, first.num_rows().min(PREVIEW_ROWS));
            let total = if complete { Some(rows) } else { known_rows };
            Ok::<_, DataFusionError>((first, total, remote))
        })?
        .map_err(errors::from_datafusion)?;
        let (first, total, remote) = preview;
        let html = py.import("lakefed._display")?.getattr("html")?;
        html.call1((first.to_pyarrow(py)?, total, PyList::new(py, remote)?))
    }

    fn __repr__(&self) -> String {
        let columns: Vec<String> = self
            .df
            .schema()
            .fields()
            .iter()
            .map(|field| format!("{}: {}", field.name(), field.data_type()))
            .collect();
        format!("lakefed.DataFrame[{}]", columns.join(", "))
    }
}

fn remote_queries(plan: &Arc<dyn ExecutionPlan>) -> Vec<(String, String)> {
    remote_scans(plan)
        .into_iter()
        .map(|scan| (scan.source().to_string(), scan.sql().to_string()))
        .collect()
}

/// The plan's row count when its statistics know it exactly.
fn exact_rows(plan: &Arc<dyn ExecutionPlan>) -> datafusion::error::Result<Option<usize>> {
    let statistics = StatisticsContext::new().compute(plan.as_ref(), &StatisticsArgs::new())?;
    Ok(match statistics.num_rows {
        Precision::Exact(rows) => Some(rows),
        _ => None,
    })
}

/// Rows and bytes received so far, shared with the progress display.
#[derive(Default)]
struct Counters {
    rows: AtomicU64,
    bytes: AtomicU64,
}

impl Counters {
    fn add(&self, batch: &RecordBatch) {
        self.rows
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        let bytes = batch.get_array_memory_size() as u64;
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn get(&self) -> (u64, u64) {
        (
            self.rows.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

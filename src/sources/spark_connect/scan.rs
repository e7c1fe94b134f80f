//! The physical scan of a Spark table: one Spark SQL statement whose result
//! streams into DataFusion batch by batch.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::{StreamExt, TryStreamExt};

use super::client::SparkConnectClient;
use super::execute::ExecuteMetrics;

/// Reads the result of one Spark SQL statement from a Spark Connect server.
///
/// `EXPLAIN` shows the source and the SQL sent; `EXPLAIN ANALYZE` adds the
/// rows, bytes and batches received, the time to the first batch, and how
/// the time split between waiting on the server and decoding.
#[derive(Debug)]
pub struct SparkScanExec {
    client: SparkConnectClient,
    source: String,
    sql: String,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl SparkScanExec {
    /// A scan of `sql`'s result, which has `schema`.
    pub fn new(client: SparkConnectClient, source: &str, sql: String, schema: SchemaRef) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            client,
            source: source.to_string(),
            sql,
            schema,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// The Spark SQL this scan sends.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The name of the source (the catalog) the scan reads from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// The Spark scans of a physical plan, top down: what each remote source is
/// sent when the plan runs.
pub fn spark_scans(plan: &Arc<dyn ExecutionPlan>) -> Vec<&SparkScanExec> {
    let mut scans = Vec::new();
    let mut pending = vec![plan];
    while let Some(node) = pending.pop() {
        let any: &dyn Any = node.as_ref();
        if let Some(scan) = any.downcast_ref::<SparkScanExec>() {
            scans.push(scan);
        }
        pending.extend(node.children().into_iter().rev());
    }
    scans
}

impl DisplayAs for SparkScanExec {
    fn fmt_as(&self, format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match format {
            DisplayFormatType::TreeRender => {
                writeln!(f, "source={}", self.source)?;
                write!(f, "sql={}", self.sql)
            }
            _ => write!(f, "SparkScanExec: source={}, sql={}", self.source, self.sql),
        }
    }
}

impl ExecutionPlan for SparkScanExec {
    fn name(&self) -> &str {
        "SparkScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DFResult<TreeNodeRecursion>,
    ) -> DFResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal(
                "SparkScanExec has no children".to_string(),
            ))
        }
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> DFResult<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "SparkScanExec has one partition, not {partition}"
            )));
        }
        let metric =
            |name: &'static str| MetricBuilder::new(&self.metrics).counter(name, partition);
        let time =
            |name: &'static str| MetricBuilder::new(&self.metrics).subset_time(name, partition);
        let metrics = ExecuteMetrics {
            bytes: metric("bytes_received"),
            batches: metric("batches_received"),
            reattaches: metric("reattaches"),
            time_to_first_batch: time("time_to_first_batch"),
            wait_time: time("wait_time"),
            decode_time: time("decode_time"),
        };
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let client = self.client.clone();
        let sql = self.sql.clone();
        let schema = self.schema.clone();
        let batches = futures::stream::once(async move {
            client
                .execute(&sql, metrics)
                .await
                .map_err(DataFusionError::from)
        })
        .try_flatten()
        .map(move |batch| {
            let batch = align(batch.map_err(DataFusionError::from)?, &schema)?;
            baseline.record_output(batch.num_rows());
            Ok(batch)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            batches.map(|item: DFResult<RecordBatch>| item),
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// Gives a batch from Spark the scan's declared schema: the same columns,
/// with Arrow types that may differ only in naming (list items, map
/// entries), string width (`useLargeVarTypes`), or width of an integer or
/// decimal (a literal's narrower type), cast where they do. Any other
/// difference is an error, never a silent conversion.
fn align(batch: RecordBatch, schema: &SchemaRef) -> DFResult<RecordBatch> {
    if schema.fields().is_empty() {
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        return Ok(RecordBatch::try_new_with_options(
            schema.clone(),
            vec![],
            &options,
        )?);
    }
    if batch.num_columns() != schema.fields().len() {
        return Err(DataFusionError::Execution(format!(
            "Spark returned {} columns where {} were expected; did the table change since the query was planned?",
            batch.num_columns(),
            schema.fields().len()
        )));
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else if !same_values(column.data_type(), field.data_type()) {
                Err(DataFusionError::Execution(format!(
                    "Spark returned column '{}' as {} where {} was expected; did the table change since the query was planned?",
                    field.name(),
                    column.data_type(),
                    field.data_type()
                )))
            } else {
                let options = CastOptions {
                    safe: false,
                    ..Default::default()
                };
                cast_with_options(column, field.data_type(), &options).map_err(|err| {
                    DataFusionError::Execution(format!(
                        "Spark returned column '{}' as {} where {} was expected ({err}); did the table change since the query was planned?",
                        field.name(),
                        column.data_type(),
                        field.data_type()
                    ))
                })
            }
        })
        .collect::<DFResult<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Whether a cast from `from` to `to` keeps every value: the differences
/// [`align`] accepts.
fn same_values(from: &DataType, to: &DataType) -> bool {
    let strings =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let binaries = |t: &DataType| {
        matches!(
            t,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView
        )
    };
    let nested = |t: &DataType| t.is_nested();
    match (from, to) {
        (DataType::Null, _) => true,
        (a, b) if strings(a) && strings(b) => true,
        (a, b) if binaries(a) && binaries(b) => true,
        // Ranking functions: Spark's INT, DataFusion's UINT64 (a negative
        // value fails the cast).
        (a, b) if a.is_integer() && b.is_integer() => {
            a.primitive_width() <= b.primitive_width()
                && (a.is_signed_integer() == b.is_signed_integer() || b == &DataType::UInt64)
        }
        (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) => s1 == s2 && p1 <= p2,
        (DataType::Time64(_), DataType::Time64(_)) => true,
        (a, b) => nested(a) && nested(b),
    }
}

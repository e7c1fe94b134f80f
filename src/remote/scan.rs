//! The physical scan of a remote table or federated subplan: one statement
//! whose result streams into DataFusion batch by batch.

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
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::{StreamExt, TryStreamExt};

use super::{RemoteEngine, RemoteMetrics};

/// Reads the result of one statement from a remote engine.
///
/// `EXPLAIN` shows the source, the engine and the SQL sent; `EXPLAIN
/// ANALYZE` adds the rows and what the engine reports (bytes and batches
/// received, the time to the first batch, and engine-specific metrics).
#[derive(Debug)]
pub struct RemoteScanExec {
    engine: Arc<dyn RemoteEngine>,
    source: String,
    sql: String,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl RemoteScanExec {
    /// A scan of `sql`'s result, which has `schema`, run by `engine` for
    /// the lakefed source `source`.
    pub fn new(
        engine: Arc<dyn RemoteEngine>,
        source: &str,
        sql: String,
        schema: SchemaRef,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            engine,
            source: source.to_string(),
            sql,
            schema,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// The SQL this scan sends.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The name of the source (the catalog) the scan reads from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The kind of engine the scan runs on.
    pub fn engine(&self) -> &'static str {
        self.engine.kind()
    }
}

/// The remote scans of a physical plan, top down: what each remote source
/// is sent when the plan runs.
pub fn remote_scans(plan: &Arc<dyn ExecutionPlan>) -> Vec<&RemoteScanExec> {
    let mut scans = Vec::new();
    let mut pending = vec![plan];
    while let Some(node) = pending.pop() {
        // The concrete type: wrappers that delegate their downcast identity
        // are walked through as children.
        let any: &dyn Any = node.as_ref();
        if let Some(scan) = any.downcast_ref::<RemoteScanExec>() {
            scans.push(scan);
        }
        pending.extend(node.children().into_iter().rev());
    }
    scans
}

impl DisplayAs for RemoteScanExec {
    fn fmt_as(&self, format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match format {
            DisplayFormatType::TreeRender => {
                writeln!(f, "source={}", self.source)?;
                writeln!(f, "engine={}", self.engine())?;
                write!(f, "sql={}", self.sql)
            }
            _ => write!(
                f,
                "RemoteScanExec: source={}, engine={}, sql={}",
                self.source,
                self.engine(),
                self.sql
            ),
        }
    }
}

impl ExecutionPlan for RemoteScanExec {
    fn name(&self) -> &str {
        "RemoteScanExec"
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
                "RemoteScanExec has no children".to_string(),
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
                "RemoteScanExec has one partition, not {partition}"
            )));
        }
        let metrics = RemoteMetrics::new(self.metrics.clone(), partition);
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let engine = Arc::clone(&self.engine);
        let sql = self.sql.clone();
        let schema = self.schema.clone();
        let source = self.source.clone();
        let batches = futures::stream::once(async move {
            engine
                .execute(&sql, metrics)
                .await
                .map_err(DataFusionError::from)
        })
        .try_flatten()
        .map(move |batch| {
            let batch = align(batch.map_err(DataFusionError::from)?, &schema, &source)?;
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

/// Gives a batch from `source` the scan's declared schema: the same columns,
/// with Arrow types that may differ only in naming (list items, map
/// entries), string width (`useLargeVarTypes`), or width of an integer or
/// decimal (a literal's narrower type), cast where they do. Any other
/// difference is an error, never a silent conversion.
fn align(batch: RecordBatch, schema: &SchemaRef, source: &str) -> DFResult<RecordBatch> {
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
            "source '{source}' returned {} columns where {} were expected; did the table change since the query was planned?",
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
                    "source '{source}' returned column '{}' as {} where {} was expected; did the table change since the query was planned?",
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
                        "source '{source}' returned column '{}' as {} where {} was expected ({err}); did the table change since the query was planned?",
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
    match (from, to) {
        (a, b) if a == b => true,
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
        // The same instants, labelled with another zone (a warehouse writes
        // its session zone).
        (DataType::Timestamp(a, Some(_)), DataType::Timestamp(b, Some(_))) => a == b,
        // Nested values: the same shape (names of list items and map
        // entries, and nullability, may differ) with the same values inside.
        (
            DataType::List(a) | DataType::LargeList(a),
            DataType::List(b) | DataType::LargeList(b),
        )
        | (DataType::Map(a, _), DataType::Map(b, _)) => same_values(a.data_type(), b.data_type()),
        (DataType::Struct(a), DataType::Struct(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|(x, y)| x.name() == y.name() && same_values(x.data_type(), y.data_type()))
        }
        _ => false,
    }
}

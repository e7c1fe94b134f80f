//! `DELETE` and `UPDATE` on Delta tables, through DataFusion's DML planning
//! and delta-rs's operations, which rewrite the files that hold matching
//! rows and commit with optimistic concurrency.
//!
//! DataFusion plans the statement and hands the table its `WHERE` (and
//! `SET`) expressions; the change runs when the plan runs (so `EXPLAIN`
//! changes nothing) and the plan returns one row, `count`: the rows
//! deleted or updated. The operations plan their rewrites in a session of
//! delta-rs's own, whose planner knows its plan nodes.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::Column;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::{SendableRecordBatchStream, SessionState, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::utils::conjunction;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use deltalake::kernel::transaction::TransactionError;
use deltalake::{DeltaTable, DeltaTableError};
use futures::future::BoxFuture;
use parking_lot::Mutex;

/// The statement a [`DmlExec`] runs.
pub(crate) type Change = BoxFuture<'static, DFResult<u64>>;

/// Runs of a DELETE or UPDATE whose commit a concurrent writer's commit
/// conflicted with: the statement runs again on the table as that writer
/// left it (it changed nothing the first time).
const ATTEMPTS: usize = 3;

/// Deletes the rows of `table` that match every filter (all rows without
/// filters); returns the number deleted.
pub(crate) fn delete(
    table: DeltaTable,
    state: &dyn Session,
    filters: Vec<Expr>,
    location: String,
) -> DFResult<Arc<dyn ExecutionPlan>> {
    let session = session_of(state)?;
    let change = async move {
        let (deleted, before) = retried("DELETE", table, location, |table| {
            let predicate = conjunction(filters.clone());
            async move {
                let before = table.clone();
                let mut delete = table.delete();
                if let Some(predicate) = predicate {
                    delete = delete.with_predicate(predicate);
                }
                let (_, metrics) = delete.await?;
                Ok((metrics.num_deleted_rows, before))
            }
        })
        .await?;
        match deleted {
            Some(rows) => Ok(rows as u64),
            // Whole files deleted by their partition values: their rows are
            // counted at the version the delete read.
            None => table_rows(&before, &session, &filters).await,
        }
    };
    Ok(Arc::new(DmlExec::new("DELETE", Box::pin(change))))
}

/// Sets `assignments` on the rows of `table` that match every filter;
/// returns the number updated.
pub(crate) fn update(
    table: DeltaTable,
    assignments: Vec<(String, Expr)>,
    filters: Vec<Expr>,
    location: String,
) -> DFResult<Arc<dyn ExecutionPlan>> {
    let change = retried("UPDATE", table, location, move |table| {
        let assignments = assignments.clone();
        let filters = filters.clone();
        async move {
            let mut update = table.update();
            if let Some(predicate) = conjunction(filters) {
                update = update.with_predicate(predicate);
            }
            for (column, value) in assignments {
                update = update.with_update(Column::new_unqualified(column), value);
            }
            let (_, metrics) = update.await?;
            Ok(metrics.num_updated_rows as u64)
        }
    });
    Ok(Arc::new(DmlExec::new("UPDATE", Box::pin(change))))
}

/// Runs `run` on `table`, and again on its latest version when a
/// concurrent commit conflicted with it, up to [`ATTEMPTS`] runs.
async fn retried<T, F, R>(
    statement: &'static str,
    mut table: DeltaTable,
    location: String,
    run: F,
) -> DFResult<T>
where
    F: Fn(DeltaTable) -> R,
    R: std::future::Future<Output = Result<T, DeltaTableError>>,
{
    let mut attempt = 1;
    loop {
        match run(table.clone()).await {
            Err(err) if conflicted(&err) && attempt < ATTEMPTS => {
                attempt += 1;
                table
                    .update_state()
                    .await
                    .map_err(|err| failed(statement, &location, err))?;
            }
            result => return result.map_err(|err| failed(statement, &location, err)),
        }
    }
}

/// Whether `err` says a concurrent writer committed a change this
/// statement's commit conflicts with.
fn conflicted(err: &DeltaTableError) -> bool {
    matches!(
        err,
        DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(_)
        }
    )
}

pub(crate) fn session_of(state: &dyn Session) -> DFResult<Arc<SessionState>> {
    state
        .as_any()
        .downcast_ref::<SessionState>()
        .map(|state| Arc::new(state.clone()))
        .ok_or_else(|| {
            DataFusionError::Internal("a DML statement is planned in a SessionState".into())
        })
}

/// The number of rows of `table` (at the version it holds) that match
/// every filter.
async fn table_rows(table: &DeltaTable, session: &SessionState, filters: &[Expr]) -> DFResult<u64> {
    let provider = table
        .table_provider()
        .with_session(Arc::new(session.clone()))
        .build()
        .await?;
    let ctx = datafusion::prelude::SessionContext::new_with_state(session.clone());
    let mut rows = ctx.read_table(Arc::new(provider))?;
    if let Some(predicate) = conjunction(filters.to_vec()) {
        rows = rows.filter(predicate)?;
    }
    Ok(rows.count().await? as u64)
}

pub(crate) fn failed(statement: &str, location: &str, err: DeltaTableError) -> DataFusionError {
    let concurrent = match conflicted(&err) {
        true => " (a concurrent writer changed the table; run the statement again)",
        false => "",
    };
    DataFusionError::Execution(format!(
        "{statement} on Delta table '{location}' failed and changed nothing{concurrent}: {err}"
    ))
}

/// Runs a change when executed and returns its row count as `count`.
pub(crate) struct DmlExec {
    statement: &'static str,
    change: Mutex<Option<Change>>,
    properties: Arc<PlanProperties>,
}

impl DmlExec {
    pub(crate) fn new(statement: &'static str, change: Change) -> Self {
        let schema = count_schema();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Self {
            statement,
            change: Mutex::new(Some(change)),
            properties: Arc::new(properties),
        }
    }
}

fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "count",
        DataType::UInt64,
        false,
    )]))
}

impl fmt::Debug for DmlExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmlExec")
            .field("statement", &self.statement)
            .finish()
    }
}

impl DisplayAs for DmlExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeltaDmlExec: {}", self.statement)
    }
}

impl ExecutionPlan for DmlExec {
    fn name(&self) -> &str {
        "DeltaDmlExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DFResult<TreeNodeRecursion>,
    ) -> DFResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> DFResult<SendableRecordBatchStream> {
        let change = self.change.lock().take().ok_or_else(|| {
            DataFusionError::Execution(format!(
                "this {} has run already; plan the statement again",
                self.statement
            ))
        })?;
        let schema = count_schema();
        let batch_schema = Arc::clone(&schema);
        let batch = async move {
            let count = change.await?;
            Ok(RecordBatch::try_new(
                batch_schema,
                vec![Arc::new(UInt64Array::from(vec![count]))],
            )?)
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::once(batch),
        )))
    }
}

//! A panic inside a query is an error naming the operator, never a crash.
//!
//! DataFusion's operators run on the caller's task or on tasks they spawn;
//! a panic in one of them (DataFusion 55's top-k aggregation on NaN keys
//! was one) either unwinds into the caller (DataFusion's task helpers
//! resume panics where results are awaited) or comes back as a bare "Join
//! Error". [`GuardedPlanner`] wraps every operator of a plan it returns in
//! a [`PanicGuardExec`], whose stream turns a panic of the operator below
//! into `DataFusionError::Internal` naming that operator, its partition and
//! the panic message, and then ends. Where nothing panics, the guard costs
//! one `catch_unwind` per batch and operator.
//!
//! The guards are added after physical optimization, so no optimizer rule
//! sees them; `EXPLAIN` plans are left unguarded, so they show the plan as
//! DataFusion built it, and `EXPLAIN ANALYZE` gets one guard at its root.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, Statistics, internal_datafusion_err};
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, displayable,
};
use futures::{Stream, StreamExt};

/// A [`QueryPlanner`] that plans with `inner` and guards the plan's
/// operators against panics (see the [module documentation](self)).
#[derive(Debug)]
pub struct GuardedPlanner {
    inner: Arc<dyn QueryPlanner + Send + Sync>,
}

impl GuardedPlanner {
    /// Guards the plans `inner` creates.
    pub fn new(inner: Arc<dyn QueryPlanner + Send + Sync>) -> Self {
        Self { inner }
    }
}

#[async_trait]
impl QueryPlanner for GuardedPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self
            .inner
            .create_physical_plan(logical_plan, session)
            .await?;
        match logical_plan {
            LogicalPlan::Explain(_) => Ok(plan),
            LogicalPlan::Analyze(_) => Ok(PanicGuardExec::wrap(plan)),
            _ => guard_every_operator(plan),
        }
    }
}

/// `plan` with a [`PanicGuardExec`] above each of its operators.
fn guard_every_operator(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| Ok(Transformed::yes(PanicGuardExec::wrap(node))))
        .map(|guarded| guarded.data)
}

/// Runs `inner` unchanged, turning a panic while it executes into an
/// internal error naming it.
#[derive(Debug)]
pub struct PanicGuardExec {
    inner: Arc<dyn ExecutionPlan>,
}

impl PanicGuardExec {
    /// `inner`, guarded.
    pub fn wrap(inner: Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
        Arc::new(Self { inner })
    }
}

impl DisplayAs for PanicGuardExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "PanicGuardExec")
    }
}

impl ExecutionPlan for PanicGuardExec {
    fn name(&self) -> &str {
        "PanicGuardExec"
    }

    fn downcast_delegate(&self) -> Option<&dyn ExecutionPlan> {
        Some(self.inner.as_ref())
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.inner.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.inner]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(inner), true) => Ok(Self::wrap(inner)),
            _ => Err(internal_datafusion_err!(
                "PanicGuardExec guards exactly one operator"
            )),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let inner = Arc::clone(&self.inner);
        let stream = catch_unwind(AssertUnwindSafe(|| inner.execute(partition, context)))
            .map_err(|payload| panicked(&inner, partition, payload.as_ref()))??;
        Ok(Box::pin(GuardedStream {
            schema: stream.schema(),
            inner: Some(stream),
            plan: inner,
            partition,
        }))
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        match input_stats {
            [inner] => Ok(Arc::clone(inner)),
            _ => Err(internal_datafusion_err!(
                "PanicGuardExec guards exactly one operator"
            )),
        }
    }
}

/// The error for a panic of `plan` while it executed `partition`.
fn panicked(
    plan: &Arc<dyn ExecutionPlan>,
    partition: usize,
    payload: &(dyn Any + Send),
) -> datafusion::error::DataFusionError {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    let operator = displayable(plan.as_ref()).one_line().to_string();
    internal_datafusion_err!(
        "query operator panicked (partition {partition} of {}): {message}",
        operator.trim_end()
    )
}

/// The stream of a guarded operator: its batches, or the error for its
/// panic, after which it ends.
struct GuardedStream {
    schema: SchemaRef,
    inner: Option<SendableRecordBatchStream>,
    plan: Arc<dyn ExecutionPlan>,
    partition: usize,
}

impl Stream for GuardedStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match catch_unwind(AssertUnwindSafe(|| inner.poll_next_unpin(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                // The operator's state is unknown after a panic: drop it.
                self.inner = None;
                let error = panicked(&self.plan, self.partition, payload.as_ref());
                Poll::Ready(Some(Err(error)))
            }
        }
    }
}

impl RecordBatchStream for GuardedStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use datafusion::common::DataFusionError;
    use datafusion::datasource::MemTable;
    use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    /// A session with lakefed's semantics, four partitions of `t(x)` holding
    /// 0..400, and `explode(x)`, which panics on 333.
    fn session() -> SessionContext {
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(4));
        crate::semantics::install(&ctx);
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let partitions = (0..4)
            .map(|p| {
                let column: ArrayRef =
                    Arc::new(Int64Array::from_iter_values(p * 100..p * 100 + 100));
                vec![RecordBatch::try_new(Arc::clone(&schema), vec![column]).unwrap()]
            })
            .collect();
        let table = MemTable::try_new(schema, partitions).unwrap();
        ctx.register_table("t", Arc::new(table)).unwrap();
        ctx.register_udf(create_udf(
            "explode",
            vec![DataType::Int64],
            DataType::Int64,
            Volatility::Immutable,
            Arc::new(|args: &[ColumnarValue]| {
                let ColumnarValue::Array(values) = &args[0] else {
                    unreachable!("explode is called on columns")
                };
                let values = values.as_primitive::<Int64Type>();
                assert!(!values.values().contains(&333), "explode met 333");
                Ok(ColumnarValue::Array(Arc::new(values.clone())))
            }),
        ));
        ctx
    }

    /// The error `sql` fails with.
    async fn error_of(ctx: &SessionContext, sql: &str) -> DataFusionError {
        let result = ctx.sql(sql).await.unwrap().collect().await;
        result.expect_err("the query must fail")
    }

    #[tokio::test]
    async fn a_panic_is_an_internal_error_naming_the_operator() {
        let ctx = session();
        let error = error_of(&ctx, "SELECT explode(x) FROM t").await;
        let message = error.to_string();
        assert!(
            matches!(error.find_root(), DataFusionError::Internal(_)),
            "{message}"
        );
        assert!(message.contains("query operator panicked"), "{message}");
        assert!(message.contains("ProjectionExec"), "{message}");
        assert!(message.contains("explode met 333"), "{message}");
    }

    #[tokio::test]
    async fn a_panic_in_a_spawned_task_is_an_error_too() {
        // The partial aggregate runs in the tasks of the repartition above it.
        let ctx = session();
        let sql = "SELECT explode(x) % 7 AS k, count(*) FROM t GROUP BY k";
        let error = error_of(&ctx, sql).await;
        let message = error.to_string();
        assert!(message.contains("query operator panicked"), "{message}");
        assert!(message.contains("explode met 333"), "{message}");
        assert!(!message.contains("Join Error"), "{message}");
    }

    #[tokio::test]
    async fn guards_leave_answers_and_explain_alone() {
        let ctx = session();
        let sql =
            "SELECT explode(x) % 7 AS k, count(*) AS n FROM t WHERE x <> 333 GROUP BY k ORDER BY k";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let counts: Vec<i64> = batches
            .iter()
            .flat_map(|batch| {
                batch
                    .column(1)
                    .as_primitive::<Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        let expected: Vec<i64> = (0..7)
            .map(|k| (0..400).filter(|x| x % 7 == k && *x != 333).count() as i64)
            .collect();
        assert_eq!(counts, expected);

        let explain = ctx.sql(&format!("EXPLAIN {sql}")).await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(
            &explain.collect().await.unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(!text.contains("PanicGuardExec"), "{text}");
        assert!(text.contains("AggregateExec"), "{text}");
    }
}

//! DataFusion's top-k aggregation, kept away from floats.
//!
//! The physical rule (`LimitAggregation`) makes `SELECT DISTINCT x ... ORDER
//! BY x LIMIT n`, `GROUP BY x ORDER BY x LIMIT n` and `ORDER BY max(v)
//! LIMIT n` keep only the best `n` groups in a heap. In DataFusion 55 its
//! hash table compares float keys with `==`, so a NaN never finds itself:
//! the query panics ("entered unreachable code" in
//! `aggregates/topk/hash_table.rs`), and its heap compares values with `>`,
//! so NaN never counts as the largest. [`FloatSafeTopK`] runs the rule only
//! on plans whose aggregates output no float; others keep the full
//! aggregation, which is correct.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::aggregates::AggregateExec;

/// DataFusion's top-k aggregation rule, skipped for plans that aggregate
/// floats.
#[derive(Debug)]
pub struct FloatSafeTopK {
    inner: Arc<dyn PhysicalOptimizerRule + Send + Sync>,
}

impl FloatSafeTopK {
    /// The name of DataFusion's rule this one wraps.
    pub const WRAPPED: &'static str = "LimitAggregation";

    /// Wraps DataFusion's rule `inner`.
    pub fn new(inner: Arc<dyn PhysicalOptimizerRule + Send + Sync>) -> Self {
        Self { inner }
    }
}

impl PhysicalOptimizerRule for FloatSafeTopK {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut aggregates_floats = false;
        plan.apply(|node| {
            let any: &dyn std::any::Any = node.as_ref();
            if any.downcast_ref::<AggregateExec>().is_some()
                && node
                    .schema()
                    .fields()
                    .iter()
                    .any(|field| field.data_type().is_floating())
            {
                aggregates_floats = true;
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        if aggregates_floats {
            return Ok(plan);
        }
        self.inner.optimize(plan, config)
    }

    fn name(&self) -> &str {
        "lakefed_float_safe_topk"
    }

    fn schema_check(&self) -> bool {
        self.inner.schema_check()
    }
}

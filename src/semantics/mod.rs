//! Local execution with the semantics a federated query has remotely.
//!
//! The answer of a query must not depend on which parts ran in Spark and
//! which in DataFusion, and where the two engines differ, lakefed gives the
//! answer a user can trust in both places:
//! - [`arithmetic`]: integer and decimal overflow is an error, never a
//!   wrapped or out-of-range value (Spark's ANSI mode, its default);
//! - [`aggregate`]: `sum` fails on overflow the same way, and `sum`, `avg`
//!   and the variances over floats in sliding window frames are computed
//!   over the frame, not by subtracting what left it;
//! - [`functions`]: functions take the arguments Spark's take
//!   (`octet_length` of binary values);
//! - [`topk`]: DataFusion's top-k aggregation, which panics on NaN keys,
//!   runs only on plans that aggregate no floats;
//! - [`timestamp`]: timestamp literals at years 1 to 9999 plan, in
//!   microseconds where nanoseconds cannot hold them;
//! - [`panic`]: a panic inside an operator is an internal error naming the
//!   operator, not a crash of the caller;
//! - [`dml`]: a `DELETE` or `UPDATE` whose condition has a subquery or a
//!   join, which DataFusion would not pass to the table, is refused.
//!
//! [`install`] adds them to a session, with lakefed's optimizer rules
//! (`crate::optimizer`); `lakefed::new_session_context` and every
//! `register_*` call do it.

pub mod aggregate;
pub mod arithmetic;
pub mod dml;
pub mod functions;
pub mod panic;
pub mod timestamp;
pub mod topk;

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::optimizer::AnalyzerRule;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::prelude::SessionContext;

use aggregate::ExactAggregate;
use arithmetic::CheckArithmetic;
use dml::ExactDml;
use functions::OctetLength;
use panic::GuardedPlanner;
use timestamp::WideTimestampLiterals;
use topk::FloatSafeTopK;

/// Adds lakefed's local semantics to `ctx`, once: the analyzer rules for
/// timestamp literals (first, before type coercion) and checked arithmetic
/// (last); its aggregates, `octet_length` and float-safe top-k rule in
/// place of DataFusion's; and the planner that guards plans against panics.
pub fn install(ctx: &SessionContext) {
    let installed = ctx
        .state()
        .analyzer()
        .rules
        .iter()
        .any(|rule| rule.name() == CheckArithmetic.name());
    if installed {
        return;
    }
    crate::optimizer::install(ctx);
    for aggregate in [
        ExactAggregate::sum(),
        ExactAggregate::avg(),
        ExactAggregate::var_samp(),
        ExactAggregate::var_pop(),
        ExactAggregate::stddev(),
        ExactAggregate::stddev_pop(),
    ] {
        ctx.register_udaf(AggregateUDF::from(aggregate));
    }
    ctx.register_udf(ScalarUDF::from(OctetLength::default()));

    let state = ctx.state_ref();
    let mut state = state.write();
    let mut analyzer_rules: Vec<Arc<dyn AnalyzerRule + Send + Sync>> =
        vec![Arc::new(ExactDml), Arc::new(WideTimestampLiterals)];
    analyzer_rules.extend(state.analyzer().rules.iter().cloned());
    analyzer_rules.push(Arc::new(CheckArithmetic));
    let physical_rules = state
        .physical_optimizers()
        .iter()
        .map(|rule| -> Arc<dyn PhysicalOptimizerRule + Send + Sync> {
            if rule.name() == FloatSafeTopK::WRAPPED {
                Arc::new(FloatSafeTopK::new(Arc::clone(rule)))
            } else {
                Arc::clone(rule)
            }
        })
        .collect();
    let planner = Arc::new(GuardedPlanner::new(Arc::clone(state.query_planner())));
    let session_id = state.session_id().to_string();
    *state = SessionStateBuilder::new_from_existing(state.clone())
        .with_session_id(session_id)
        .with_query_planner(planner)
        .with_analyzer_rules(analyzer_rules)
        .with_physical_optimizer_rules(physical_rules)
        .build();
}

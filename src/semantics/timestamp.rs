//! Timestamp literals outside the nanosecond range.
//!
//! DataFusion types `TIMESTAMP '...'` and `CAST('...' AS TIMESTAMP)` in
//! nanoseconds, which reach only the years 1677 to 2262: a literal at year 1
//! or 9999, which Spark's and Delta's microsecond columns hold, fails to plan
//! ("Overflow converting 0001-01-01 00:00:00 to Nanosecond").
//! [`WideTimestampLiterals`], an analyzer rule that runs before type
//! coercion, types such a literal in microseconds instead, so it compares
//! exactly with microsecond columns and `SELECT TIMESTAMP '0001-01-01'`
//! works. Literals inside the nanosecond range keep their type.

use datafusion::arrow::array::StringArray;
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{Cast, Expr, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

/// The analyzer rule that types out-of-range timestamp literals in
/// microseconds.
#[derive(Debug, Default)]
pub struct WideTimestampLiterals;

impl AnalyzerRule for WideTimestampLiterals {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            node.map_expressions(|expr| expr.transform_up(widen))
        })
        .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "lakefed_wide_timestamp_literals"
    }
}

/// `CAST('text' AS TIMESTAMP)` in microseconds when `text` is a valid
/// timestamp that nanoseconds cannot hold.
fn widen(expr: Expr) -> Result<Transformed<Expr>> {
    let Expr::Cast(Cast { expr: inner, field }) = &expr else {
        return Ok(Transformed::no(expr));
    };
    let (
        Expr::Literal(ScalarValue::Utf8(Some(text)), _),
        DataType::Timestamp(TimeUnit::Nanosecond, zone),
    ) = (inner.as_ref(), field.data_type())
    else {
        return Ok(Transformed::no(expr));
    };
    let parses_as = |unit: TimeUnit| {
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        let text: StringArray = vec![text.as_str()].into();
        cast_with_options(&text, &DataType::Timestamp(unit, zone.clone()), &options).is_ok()
    };
    if parses_as(TimeUnit::Nanosecond) || !parses_as(TimeUnit::Microsecond) {
        return Ok(Transformed::no(expr));
    }
    let micros = DataType::Timestamp(TimeUnit::Microsecond, zone.clone());
    Ok(Transformed::yes(Expr::Cast(Cast::new(
        Box::new(inner.as_ref().clone()),
        micros,
    ))))
}

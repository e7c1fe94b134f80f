//! `DELETE` and `UPDATE` change exactly the rows their `WHERE` matches.
//!
//! DataFusion hands a table only the conditions of a `DELETE` or `UPDATE`
//! on the table's own columns: a condition with a subquery (`WHERE id IN
//! (SELECT ...)`, which becomes a join) or an `UPDATE ... FROM` join would
//! be left out, and the statement would change every row. Such statements
//! are refused before they are planned.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::logical_plan::dml::{DmlStatement, WriteOp};
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

/// Refuses a `DELETE` or `UPDATE` whose conditions the table would not get.
#[derive(Debug, Default)]
pub struct ExactDml;

impl AnalyzerRule for ExactDml {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        if let LogicalPlan::Dml(DmlStatement {
            op: op @ (WriteOp::Delete | WriteOp::Update),
            input,
            ..
        }) = &plan
        {
            let mut scans = 0;
            let mut unsupported = None;
            input.apply(|node| {
                match node {
                    LogicalPlan::TableScan(_) => scans += 1,
                    LogicalPlan::Join(_) | LogicalPlan::Subquery(_) => unsupported = Some("a join"),
                    _ => {}
                }
                node.apply_expressions(|expr| {
                    if expr.exists(|e| {
                        Ok(matches!(
                            e,
                            Expr::Exists(_) | Expr::InSubquery(_) | Expr::ScalarSubquery(_)
                        ))
                    })? {
                        unsupported = Some("a subquery");
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
            })?;
            if scans > 1 {
                unsupported.get_or_insert("another table");
            }
            if let Some(what) = unsupported {
                let statement = match op {
                    WriteOp::Delete => "DELETE",
                    _ => "UPDATE",
                };
                return Err(DataFusionError::Plan(format!(
                    "{statement} with {what} in its condition is not supported: the table would \
                     get only the conditions on its own columns; write it as MERGE INTO"
                )));
            }
        }
        Ok(plan)
    }

    fn name(&self) -> &str {
        "lakefed_exact_dml"
    }
}

//! Federation: after DataFusion has optimized a plan, every largest subplan
//! that one remote engine can answer exactly as DataFusion would is replaced
//! by a scan of one generated statement.
//!
//! lakefed uses its own optimizer rule rather than `datafusion-federation`:
//! there a subplan is unparsed with DataFusion's unparser and a construct it
//! cannot render fails the query, and its literals follow DataFusion's
//! dialect (`'it''s'`, which Spark reads as `its`). Here each node is checked
//! against a semantic allow-list ([`sql::expr`](crate::remote::sql::expr))
//! and a node that does not render simply stays in DataFusion, with its
//! inputs still federated on their own.
//!
//! Ordering: a pushed `ORDER BY` at the top of a federated subplan is also
//! kept as a local sort above the remote scan (DataFusion is then free to
//! parallelize above the scan without losing the order the query asked for),
//! and nodes above such a sort (a projection dropping the sort key, say) stay
//! local.
//!
//! `avg` over decimals is split into a remote sum and count and a local
//! division ([`decimal_avg`]): the engines round it differently.
//!
//! `SET lakefed.federation = false` turns it off for a session: each remote
//! table is then read with scan-level pushdown only (projection, filters,
//! limit), for debugging and for differential tests.

mod decimal_avg;

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::config::ConfigExtension;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, Result, TableReference, extensions_options};
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, Sort};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::prelude::SessionContext;

use crate::remote::sql::plan::{column_name, render};
use crate::remote::{RemoteQuery, RemoteQueryTable};

extensions_options! {
    /// lakefed's session settings (`SET lakefed.<name> = <value>`).
    pub struct LakefedOptions {
        /// Push whole subplans (joins, aggregates, sorts, windows, unions)
        /// to the remote engine that owns their tables. When false, remote
        /// tables get scan-level pushdown only.
        pub federation: bool, default = true
    }
}

impl ConfigExtension for LakefedOptions {
    const PREFIX: &'static str = "lakefed";
}

/// Adds the federation rule and lakefed's settings to `ctx`, once.
pub fn enable_federation(ctx: &SessionContext) {
    let state = ctx.state_ref();
    let mut state = state.write();
    let options = state.config_mut().options_mut();
    if options.extensions.get::<LakefedOptions>().is_none() {
        options.extensions.insert(LakefedOptions::default());
    }
    drop(state);
    let has_rule = ctx
        .state()
        .optimizers()
        .iter()
        .any(|rule| rule.name() == Federation::NAME);
    if !has_rule {
        ctx.add_optimizer_rule(Arc::new(Federation));
    }
}

/// The optimizer rule that replaces remote subplans by generated statements.
#[derive(Debug, Default)]
pub struct Federation;

impl Federation {
    const NAME: &'static str = "lakefed_federation";
}

impl OptimizerRule for Federation {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let enabled = config
            .options()
            .extensions
            .get::<LakefedOptions>()
            .is_none_or(|options| options.federation);
        if !enabled {
            return Ok(Transformed::no(plan));
        }
        let split = split_decimal_averages(plan)?;
        // Numbered after the scans an earlier optimizer pass made.
        let mut count = 0;
        split.data.apply(|node| {
            if let LogicalPlan::TableScan(scan) = node
                && scan.table_name.table().starts_with("federated_")
            {
                count += 1;
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        let federated = federate(split.data, &mut count)?;
        Ok(Transformed::new_transformed(
            federated.data,
            split.transformed || federated.transformed,
        ))
    }
}

/// Splits each aggregate over a remote input whose only obstacle is an `avg`
/// over decimals (see [`decimal_avg`]).
fn split_decimal_averages(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    plan.transform_up(|node| {
        let LogicalPlan::Aggregate(aggregate) = &node else {
            return Ok(Transformed::no(node));
        };
        if render(&aggregate.input).is_none() {
            return Ok(Transformed::no(node));
        }
        let split = decimal_avg::split(aggregate.clone())?;
        let parts_render = matches!(
            &split.data,
            LogicalPlan::Projection(projection) if render(&projection.input).is_some()
        );
        Ok(if split.transformed && parts_render {
            split
        } else {
            Transformed::no(node)
        })
    })
}

/// Replaces the largest remote subplans of `plan`, top down.
fn federate(plan: LogicalPlan, count: &mut usize) -> Result<Transformed<LogicalPlan>> {
    if worth_federating(&plan)
        && !sorted_below(&plan)
        && let Some(query) = render(&plan)
    {
        *count += 1;
        let remote = remote_scan(&plan, query, *count)?;
        let replacement = match plan {
            // Keep the order the query asked for visible to DataFusion.
            LogicalPlan::Sort(Sort { expr, fetch, .. }) => LogicalPlan::Sort(Sort {
                expr,
                input: Arc::new(remote),
                fetch,
            }),
            _ => remote,
        };
        return Ok(Transformed::yes(replacement));
    }
    plan.map_children(|child| federate(child, count))
}

/// Whether `plan` does more than scan-level pushdown already sends (columns,
/// filters, limit of one table): a join, an aggregate, a window, a sort, a
/// `DISTINCT`, a `UNION`, or a computed column.
fn worth_federating(plan: &LogicalPlan) -> bool {
    plan.exists(|node| {
        Ok(match node {
            LogicalPlan::TableScan(_) | LogicalPlan::Limit(_) | LogicalPlan::SubqueryAlias(_) => {
                false
            }
            LogicalPlan::Projection(projection) => !projection
                .expr
                .iter()
                .all(|expr| matches!(expr.clone().unalias(), Expr::Column(_))),
            _ => true,
        })
    })
    .unwrap_or(false)
}

/// Whether `plan` passes on the order of a sort below it (through
/// projections, filters, aliases and limits): replacing it whole would hide
/// that order from DataFusion.
fn sorted_below(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Projection(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Limit(_) => plan
            .inputs()
            .first()
            .is_some_and(|input| matches!(input, LogicalPlan::Sort(_)) || sorted_below(input)),
        _ => false,
    }
}

/// A scan of `query`'s result standing in for `plan`: the positional columns
/// renamed back to `plan`'s qualified names.
fn remote_scan(plan: &LogicalPlan, query: RemoteQuery, number: usize) -> Result<LogicalPlan> {
    let schema = plan.schema();
    let fields = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            Field::new(
                column_name(i),
                field.data_type().clone(),
                field.is_nullable(),
            )
            .with_metadata(field.metadata().clone())
        })
        .collect::<Vec<_>>();
    let name = TableReference::partial(query.source.clone(), format!("federated_{number}"));
    let table = RemoteQueryTable::new(query, Arc::new(Schema::new(fields)));
    let scan = LogicalPlanBuilder::scan(name.clone(), provider_as_source(Arc::new(table)), None)?;
    let renamed = schema.iter().enumerate().map(|(i, (qualifier, field))| {
        Expr::Column(Column::new(Some(name.clone()), column_name(i)))
            .alias_qualified(qualifier.cloned(), field.name())
    });
    scan.project(renamed)?.build()
}

//! `table_changes(table, start [, end])`: the rows a range of commits of a
//! Delta table changed (its change data feed), as Spark's `table_changes`
//! returns them: the table's columns, then `_change_type` (`insert`,
//! `delete`, `update_preimage`, `update_postimage`), `_commit_version` and
//! `_commit_timestamp`.
//!
//! `table` is a Delta table registered in the session (`'t'`,
//! `'lake.sales'`) or a location (`'s3://bucket/t'`, `'./t'`); `start` and
//! `end` are versions (integers) or instants (timestamp strings), both
//! inclusive; without `end` the range runs to the latest commit. The table
//! must have `delta.enableChangeDataFeed = true` from `start` on.
//!
//! The feed is read by deltalake: the `_change_data` files a commit wrote
//! where it wrote some, else its added files as inserts and its removed
//! files as deletes, as the protocol allows.

use std::sync::Arc;

use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl};
use datafusion::common::TableReference;
use datafusion::datasource::TableProvider;
use datafusion::error::Result as DFResult;
use datafusion::execution::SessionState;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{
    ExecutionPlan, ExecutionPlanProperties, replace_children_if_necessary,
};

use super::plan_table::PlanTable;
use super::resolved::ResolvedDeltaTable;
use super::storage::{StorageOptions, parse_location};
use super::table::{DeltaTableProvider, TableVersion};
use super::table_function::{literal_string, version_from_scalar};
use crate::background::block_on;
use crate::error::{Error, Result};

const USAGE: &str = "table_changes(table, start [, end]) expects a Delta table name or location, \
                     then a start and optionally an end, each a version (integer) or a \
                     timestamp string";

/// The `table_changes` table function.
#[derive(Debug, Default)]
pub struct TableChangesFunction {
    options: StorageOptions,
}

impl TableChangesFunction {
    /// A `table_changes` that opens locations with `options` (unset
    /// options come from the environment).
    pub fn new(options: StorageOptions) -> Self {
        Self { options }
    }

    async fn changes(
        &self,
        session: &dyn Session,
        table: &str,
        start: TableVersion,
        end: Option<TableVersion>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(registered) = registered_delta_table(session, table).await? {
            return registered.changes(session, start, end).await;
        }
        let url = parse_location(table).map_err(|err| {
            Error::InvalidArgument(format!(
                "table_changes: '{table}' is neither a Delta table of this session nor a \
                 location ({err})"
            ))
        })?;
        let opened = DeltaTableProvider::try_open(&url, &self.options, TableVersion::Latest).await;
        match opened {
            Ok(located) => located.changes(session, start, end).await,
            Err(Error::NotATable { .. }) if !table.contains('/') => {
                Err(Error::InvalidArgument(format!(
                    "table_changes: '{table}' is neither a Delta table of this session nor a location"
                )))
            }
            Err(err) => Err(err),
        }
    }
}

impl TableFunctionImpl for TableChangesFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let (table, start, end) = parse_args(args.exprs())?;
        let plan = block_on(
            "table_changes",
            self.changes(args.session(), &table, start, end),
        )??;
        Ok(Arc::new(PlanTable::new(without_empty_branches(plan)?)))
    }
}

/// deltalake plans a feed as a union of its change files, added files and
/// removed files, with a branch of no partitions for a kind that has no
/// files. DataFusion pushes a sort into each branch of a union and then
/// finds a sort of no partitions invalid, so such branches are left out.
fn without_empty_branches(plan: Arc<dyn ExecutionPlan>) -> DFResult<Arc<dyn ExecutionPlan>> {
    if plan.children().is_empty() {
        return Ok(plan);
    }
    let children = plan
        .children()
        .into_iter()
        .map(|child| without_empty_branches(Arc::clone(child)))
        .collect::<DFResult<Vec<_>>>()?;
    if !plan.is::<UnionExec>() {
        return replace_children_if_necessary(plan, children);
    }
    let branches: Vec<_> = children
        .into_iter()
        .filter(|branch| branch.output_partitioning().partition_count() > 0)
        .collect();
    match branches.is_empty() {
        true => Ok(Arc::new(EmptyExec::new(plan.schema()))),
        false => UnionExec::try_new(branches),
    }
}

fn parse_args(args: &[Expr]) -> Result<(String, TableVersion, Option<TableVersion>)> {
    let usage = || Error::InvalidArgument(USAGE.to_string());
    if !(2..=3).contains(&args.len()) {
        return Err(usage());
    }
    let table = literal_string(&args[0]).ok_or_else(usage)?;
    let bound = |arg: &Expr| match arg {
        Expr::Literal(value, _) if !value.is_null() => version_from_scalar(value.clone(), USAGE),
        _ => Err(usage()),
    };
    let start = bound(&args[1])?;
    let end = args.get(2).map(bound).transpose()?;
    Ok((table, start, end))
}

/// The Delta table `name` names in `session`, if it names one.
async fn registered_delta_table(
    session: &dyn Session,
    name: &str,
) -> Result<Option<Arc<DeltaTableProvider>>> {
    let Some(state) = session.as_any().downcast_ref::<SessionState>() else {
        return Ok(None);
    };
    let reference = TableReference::from(name);
    let Ok(schema) = state.schema_for_ref(reference.clone()) else {
        return Ok(None);
    };
    let Some(table) = schema.table(reference.table()).await? else {
        return Ok(None);
    };
    if let Some(resolved) = table.downcast_ref::<ResolvedDeltaTable>() {
        return Ok(Some(resolved.table()));
    }
    if !table.is::<DeltaTableProvider>() {
        return Err(Error::InvalidArgument(format!(
            "table_changes: '{name}' is not a Delta table"
        )));
    }
    let any: Arc<dyn std::any::Any + Send + Sync> = table;
    Ok(any.downcast().ok())
}

//! `MERGE INTO` on Delta tables, through DataFusion's MERGE planning and
//! delta-rs's merge operation.
//!
//! DataFusion plans the source (`USING`, any query of the session: a Spark
//! table, another Delta table) and resolves `ON` and the `WHEN` clauses
//! against the target's columns, qualified by the target's name, followed
//! by the source's. delta-rs joins the source with the target under
//! aliases of its own, so each column is renamed to the side it belongs
//! to; the source is read once (delta-rs's streaming mode), and its
//! plan runs in the session that planned it, whose object stores it reads.
//! Like `DELETE` and `UPDATE`, the merge runs when the plan runs and
//! returns `count`: the rows inserted, updated and deleted.

use std::sync::Arc;

use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchemaRef, TableReference};
use datafusion::datasource::provider_as_source;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::logical_expr::dml::{MergeIntoAction, MergeIntoClause, MergeIntoClauseKind};
use datafusion::logical_expr::{Expr, LogicalPlanBuilder};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::DataFrame;
use deltalake::DeltaTable;
use deltalake::operations::merge::{DeleteBuilder, MergeBuilder, UpdateBuilder};

use super::dml::{DmlExec, failed, session_of};
use super::plan_table::PlanTable;

/// The name delta-rs gives the target's columns.
const TARGET: &str = "target";
/// The name delta-rs gives the source's columns.
const SOURCE: &str = "source";

/// One `WHEN` clause, its columns renamed for delta-rs.
struct Clause {
    predicate: Option<Expr>,
    action: Action,
}

/// What a clause does, as delta-rs's merge builder names it.
enum Action {
    UpdateMatched(Vec<(String, Expr)>),
    DeleteMatched,
    InsertNotMatched(Vec<(String, Expr)>),
    UpdateNotMatchedBySource(Vec<(String, Expr)>),
    DeleteNotMatchedBySource,
}

/// Merges the rows of `source` into `table` by `on` and `clauses`, which
/// DataFusion resolved against `merge_schema`; returns the rows changed.
pub(crate) fn merge(
    table: DeltaTable,
    state: &dyn Session,
    source: Arc<dyn ExecutionPlan>,
    merge_schema: DFSchemaRef,
    on: Expr,
    clauses: Vec<MergeIntoClause>,
    location: String,
) -> DFResult<Arc<dyn ExecutionPlan>> {
    let target = target_qualifier(&merge_schema)?;
    let target_columns: Vec<String> = merge_schema
        .iter()
        .take_while(|(qualifier, _)| *qualifier == Some(&target))
        .map(|(_, field)| field.name().clone())
        .collect();
    let on = for_delta_rs(on, &target)?;
    let clauses = clauses
        .into_iter()
        .map(|clause| Clause::new(clause, &target, &target_columns))
        .collect::<DFResult<Vec<_>>>()?;
    let session = session_of(state)?;
    let scan = LogicalPlanBuilder::scan(
        SOURCE,
        provider_as_source(Arc::new(PlanTable::new(source))),
        None,
    )?
    .build()?;
    let source = DataFrame::new((*session).clone(), scan);
    let change = async move {
        let mut builder = table
            .merge(source, on)
            .with_source_alias(SOURCE)
            .with_target_alias(TARGET)
            .with_streaming(true)
            .with_session_state(session);
        for clause in clauses {
            builder = clause
                .add_to(builder)
                .map_err(|err| failed("MERGE", &location, err))?;
        }
        let (_, metrics) = builder
            .await
            .map_err(|err| failed("MERGE", &location, err))?;
        Ok((metrics.num_target_rows_inserted
            + metrics.num_target_rows_updated
            + metrics.num_target_rows_deleted) as u64)
    };
    Ok(Arc::new(DmlExec::new("MERGE", Box::pin(change))))
}

/// The qualifier of the target's columns, which come first.
fn target_qualifier(merge_schema: &DFSchemaRef) -> DFResult<TableReference> {
    merge_schema
        .iter()
        .next()
        .and_then(|(qualifier, _)| qualifier.cloned())
        .ok_or_else(|| {
            DataFusionError::Internal("MERGE: the target's columns come first, qualified".into())
        })
}

/// `expr` with each column named by delta-rs's alias of its side, and
/// without the aliases DataFusion's analyzer may add (delta-rs writes the
/// condition into the commit as SQL, which an alias cannot be).
fn for_delta_rs(expr: Expr, target: &TableReference) -> DFResult<Expr> {
    let expr = expr.unalias_nested().data;
    expr.transform(|expr| match expr {
        Expr::Column(column) => {
            let side = match column.relation.as_ref() == Some(target) {
                true => TARGET,
                false => SOURCE,
            };
            Ok(Transformed::yes(Expr::Column(Column::new(
                Some(TableReference::bare(side)),
                column.name,
            ))))
        }
        Expr::Exists(_)
        | Expr::InSubquery(_)
        | Expr::ScalarSubquery(_)
        | Expr::OuterReferenceColumn(..) => Err(DataFusionError::Plan(
            "MERGE with a subquery in ON or WHEN is not supported: join it into the USING query"
                .into(),
        )),
        other => Ok(Transformed::no(other)),
    })
    .map(|transformed| transformed.data)
}

impl Clause {
    fn new(
        clause: MergeIntoClause,
        target: &TableReference,
        target_columns: &[String],
    ) -> DFResult<Self> {
        use MergeIntoClauseKind::{Matched, NotMatchedBySource, NotMatchedByTarget};
        let predicate = clause
            .predicate
            .map(|predicate| for_delta_rs(predicate, target))
            .transpose()?;
        let action = match (clause.kind.canonical(), clause.action) {
            (Matched, MergeIntoAction::Update(sets)) => {
                Action::UpdateMatched(assigned(sets, target)?)
            }
            (Matched, MergeIntoAction::Delete) => Action::DeleteMatched,
            (NotMatchedByTarget, MergeIntoAction::Insert { columns, values }) => {
                let columns = match columns.is_empty() {
                    true => target_columns.to_vec(),
                    false => columns,
                };
                if columns.len() != values.len() {
                    return Err(DataFusionError::Plan(format!(
                        "MERGE: INSERT names {} columns but gives {} values",
                        columns.len(),
                        values.len()
                    )));
                }
                Action::InsertNotMatched(assigned(columns.into_iter().zip(values), target)?)
            }
            (NotMatchedBySource, MergeIntoAction::Update(sets)) => {
                Action::UpdateNotMatchedBySource(assigned(sets, target)?)
            }
            (NotMatchedBySource, MergeIntoAction::Delete) => Action::DeleteNotMatchedBySource,
            (kind, action) => {
                let action = match action {
                    MergeIntoAction::Update(_) => "UPDATE",
                    MergeIntoAction::Insert { .. } => "INSERT",
                    MergeIntoAction::Delete => "DELETE",
                };
                let when = match kind {
                    Matched => "WHEN MATCHED",
                    NotMatchedBySource => "WHEN NOT MATCHED BY SOURCE",
                    _ => "WHEN NOT MATCHED",
                };
                return Err(DataFusionError::Plan(format!(
                    "MERGE: {when} THEN {action} is not valid"
                )));
            }
        };
        Ok(Self { predicate, action })
    }

    fn add_to(self, builder: MergeBuilder) -> deltalake::DeltaResult<MergeBuilder> {
        let predicate = self.predicate;
        match self.action {
            Action::UpdateMatched(sets) => {
                builder.when_matched_update(|update| updated(update, predicate, sets))
            }
            Action::DeleteMatched => {
                builder.when_matched_delete(|delete| deleted(delete, predicate))
            }
            Action::InsertNotMatched(sets) => builder.when_not_matched_insert(|mut insert| {
                if let Some(predicate) = predicate {
                    insert = insert.predicate(predicate);
                }
                sets.into_iter().fold(insert, |insert, (column, value)| {
                    insert.set(Column::new_unqualified(column), value)
                })
            }),
            Action::UpdateNotMatchedBySource(sets) => {
                builder.when_not_matched_by_source_update(|update| updated(update, predicate, sets))
            }
            Action::DeleteNotMatchedBySource => {
                builder.when_not_matched_by_source_delete(|delete| deleted(delete, predicate))
            }
        }
    }
}

/// `update` restricted to rows where `predicate` holds, setting `sets`.
fn updated(
    mut update: UpdateBuilder,
    predicate: Option<Expr>,
    sets: Vec<(String, Expr)>,
) -> UpdateBuilder {
    if let Some(predicate) = predicate {
        update = update.predicate(predicate);
    }
    sets.into_iter().fold(update, |update, (column, value)| {
        update.update(Column::new_unqualified(column), value)
    })
}

/// `delete` restricted to rows where `predicate` holds.
fn deleted(delete: DeleteBuilder, predicate: Option<Expr>) -> DeleteBuilder {
    match predicate {
        Some(predicate) => delete.predicate(predicate),
        None => delete,
    }
}

/// Assignments to target columns, their values renamed for delta-rs.
fn assigned(
    assignments: impl IntoIterator<Item = (String, Expr)>,
    target: &TableReference,
) -> DFResult<Vec<(String, Expr)>> {
    assignments
        .into_iter()
        .map(|(column, value)| Ok((column, for_delta_rs(value, target)?)))
        .collect()
}

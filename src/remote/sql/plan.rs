//! Whole DataFusion subplans as one Spark SQL statement.
//!
//! Every plan node becomes a derived table whose columns are named by
//! position (`_c0`, `_c1`, ...), and every column reference is resolved to
//! such a position in the node's own input before it is written. So no
//! generated name can collide with a user's alias, a filter above a
//! subquery alias cannot bind to the wrong scope, and case or quoting of the
//! user's names never matter above the table scans. Spark's optimizer
//! flattens the nesting.
//!
//! A node renders only when all its inputs render for the same compute
//! context ([`ComputeContext`](crate::remote::ComputeContext)) and every expression in it is on the [allow-list](super::expr);
//! otherwise rendering returns `None` and the caller keeps the node in
//! DataFusion.

use datafusion::catalog::default_table_source::source_as_provider;
use datafusion::common::{Column, DFSchema, NullEquality};
use datafusion::logical_expr::logical_plan::{FetchType, SkipType};
use datafusion::logical_expr::{
    Aggregate, Distinct, Filter, Join, JoinType, Limit, LogicalPlan, Projection, Sort, SortExpr,
    TableScan, Union, Window,
};

use super::expr::{ExprRenderer, is_comparable};
use crate::remote::{RemoteQuery, RemoteTable};

/// The positional name of output column `index`.
pub(crate) fn column_name(index: usize) -> String {
    format!("_c{index}")
}

/// Renders `plan` as one Spark SQL statement, if the whole plan reads
/// tables of one compute context and the engine answers it exactly as
/// DataFusion.
pub(crate) fn render(plan: &LogicalPlan) -> Option<RemoteQuery> {
    match plan {
        LogicalPlan::TableScan(scan) => table_scan(scan),
        LogicalPlan::Projection(Projection { expr, input, .. }) => {
            let child = render(input)?;
            let exprs = over(input.schema(), "t", |renderer| {
                expr.iter()
                    .map(|e| renderer.value(e))
                    .collect::<Option<Vec<_>>>()
            })?;
            // A projection that only renames keeps the input's statement.
            let width = input.schema().fields().len();
            let renames_only = exprs.len() == width
                && exprs
                    .iter()
                    .enumerate()
                    .all(|(i, e)| *e == format!("t.{}", column_name(i)));
            if renames_only {
                return Some(child);
            }
            Some(child.with_sql(format!(
                "SELECT {} FROM ({}) AS t",
                select_list(&exprs),
                child.sql
            )))
        }
        LogicalPlan::Filter(Filter {
            predicate, input, ..
        }) => {
            let child = render(input)?;
            let predicate = over(input.schema(), "t", |r| r.predicate(predicate))?;
            Some(child.with_sql(format!(
                "SELECT {} FROM ({}) AS t WHERE {predicate}",
                pass_through(input.schema().fields().len(), "t"),
                child.sql
            )))
        }
        LogicalPlan::SubqueryAlias(alias) => render(&alias.input),
        LogicalPlan::Sort(Sort { expr, input, fetch }) => sort(expr, input, *fetch, None),
        LogicalPlan::Limit(limit) => self::limit(limit),
        LogicalPlan::Aggregate(aggregate) => self::aggregate(aggregate),
        LogicalPlan::Window(Window {
            input, window_expr, ..
        }) => {
            let child = render(input)?;
            let width = input.schema().fields().len();
            let windows = over(input.schema(), "t", |renderer| {
                window_expr
                    .iter()
                    .map(|e| renderer.window(e))
                    .collect::<Option<Vec<_>>>()
            })?;
            let mut columns = (0..width)
                .map(|i| format!("t.{0} AS {0}", column_name(i)))
                .collect::<Vec<_>>();
            columns.extend(
                windows
                    .iter()
                    .enumerate()
                    .map(|(i, w)| format!("{w} AS {}", column_name(width + i))),
            );
            Some(child.with_sql(format!(
                "SELECT {} FROM ({}) AS t",
                columns.join(", "),
                child.sql
            )))
        }
        LogicalPlan::Distinct(Distinct::All(input)) => {
            let child = render(input)?;
            input
                .schema()
                .fields()
                .iter()
                .all(|f| is_comparable(f.data_type()))
                .then_some(())?;
            Some(child.with_sql(format!(
                "SELECT DISTINCT {} FROM ({}) AS t",
                pass_through(input.schema().fields().len(), "t"),
                child.sql
            )))
        }
        LogicalPlan::Union(Union { inputs, schema }) => {
            let width = schema.fields().len();
            let mut parts = Vec::with_capacity(inputs.len());
            let mut first: Option<RemoteQuery> = None;
            for (i, input) in inputs.iter().enumerate() {
                let part = render(input)?;
                if let Some(first) = &first {
                    first.same_context(&part).then_some(())?;
                }
                parts.push(format!(
                    "SELECT {} FROM ({}) AS u{i}",
                    pass_through(width, &format!("u{i}")),
                    part.sql
                ));
                first.get_or_insert(part);
            }
            Some(first?.with_sql(parts.join(" UNION ALL ")))
        }
        LogicalPlan::Join(join) => self::join(join),
        _ => None,
    }
}

/// A scan of a remote table: its projection, filters and limit.
fn table_scan(scan: &TableScan) -> Option<RemoteQuery> {
    let provider = source_as_provider(&scan.source).ok()?;
    let table = provider.downcast_ref::<RemoteTable>()?;
    let sql = table.positional_sql(scan.projection.as_ref(), &scan.filters, scan.fetch)?;
    Some(RemoteQuery {
        engine: table.engine().clone(),
        source: table.source().to_string(),
        sql,
    })
}

/// `ORDER BY` (with an optional `LIMIT`/`OFFSET`) over `input`.
fn sort(
    keys: &[SortExpr],
    input: &LogicalPlan,
    fetch: Option<usize>,
    skip: Option<usize>,
) -> Option<RemoteQuery> {
    let child = render(input)?;
    let keys = over(input.schema(), "t", |renderer| {
        keys.iter()
            .map(|key| renderer.sort(key))
            .collect::<Option<Vec<_>>>()
    })?;
    let mut sql = format!(
        "SELECT {} FROM ({}) AS t ORDER BY {}",
        pass_through(input.schema().fields().len(), "t"),
        child.sql,
        keys.join(", ")
    );
    push_limit(&mut sql, fetch, skip);
    Some(child.with_sql(sql))
}

/// `LIMIT`/`OFFSET`; merged into an `ORDER BY` right below, so the rows kept
/// are the first in that order.
fn limit(limit: &Limit) -> Option<RemoteQuery> {
    let SkipType::Literal(skip) = limit.get_skip_type().ok()? else {
        return None;
    };
    let FetchType::Literal(fetch) = limit.get_fetch_type().ok()? else {
        return None;
    };
    let skip = (skip > 0).then_some(skip);
    if let LogicalPlan::Sort(Sort {
        expr,
        input,
        fetch: sort_fetch,
    }) = limit.input.as_ref()
    {
        // The sort's own fetch counts rows before the offset.
        let fetch = match (fetch, sort_fetch) {
            (Some(f), Some(s)) => Some(f.min(s.saturating_sub(skip.unwrap_or(0)))),
            (Some(f), None) => Some(f),
            (None, Some(s)) => Some(s.saturating_sub(skip.unwrap_or(0))),
            (None, None) => None,
        };
        return sort(expr, input, fetch, skip);
    }
    let child = render(&limit.input)?;
    let mut sql = format!(
        "SELECT {} FROM ({}) AS t",
        pass_through(limit.input.schema().fields().len(), "t"),
        child.sql
    );
    push_limit(&mut sql, fetch, skip);
    Some(child.with_sql(sql))
}

fn push_limit(sql: &mut String, fetch: Option<usize>, skip: Option<usize>) {
    if let Some(fetch) = fetch {
        sql.push_str(&format!(" LIMIT {fetch}"));
    }
    if let Some(skip) = skip {
        sql.push_str(&format!(" OFFSET {skip}"));
    }
}

fn aggregate(aggregate: &Aggregate) -> Option<RemoteQuery> {
    let Aggregate {
        input,
        group_expr,
        aggr_expr,
        ..
    } = aggregate;
    let child = render(input)?;
    let (groups, aggregates) = over(input.schema(), "t", |renderer| {
        let groups = group_expr
            .iter()
            .map(|g| renderer.key(g))
            .collect::<Option<Vec<_>>>()?;
        let aggregates = aggr_expr
            .iter()
            .map(|a| renderer.aggregate(a))
            .collect::<Option<Vec<_>>>()?;
        Some((groups, aggregates))
    })?;
    let columns = groups
        .iter()
        .chain(&aggregates)
        .cloned()
        .collect::<Vec<_>>();
    let mut sql = format!("SELECT {} FROM ({}) AS t", select_list(&columns), child.sql);
    if !groups.is_empty() {
        sql.push_str(&format!(" GROUP BY {}", groups.join(", ")));
    }
    Some(child.with_sql(sql))
}

fn join(join: &Join) -> Option<RemoteQuery> {
    let Join {
        left,
        right,
        on,
        filter,
        join_type,
        null_equality,
        null_aware,
        ..
    } = join;
    if *null_aware {
        return None;
    }
    let (l, r) = (render(left)?, render(right)?);
    l.same_context(&r).then_some(())?;
    let (left_width, right_width) = (left.schema().fields().len(), right.schema().fields().len());

    let equals = match null_equality {
        NullEquality::NullEqualsNothing => "=",
        NullEquality::NullEqualsNull => "<=>",
    };
    let mut conditions = Vec::new();
    for (left_key, right_key) in on {
        let left_key = over(left.schema(), "l", |renderer| renderer.key(left_key))?;
        let right_key = over(right.schema(), "r", |renderer| renderer.key(right_key))?;
        conditions.push(format!("({left_key} {equals} {right_key})"));
    }
    if let Some(filter) = filter {
        let column = |column: &Column| {
            if let Some(i) = left.schema().maybe_index_of_column(column) {
                Some(format!("l.{}", column_name(i)))
            } else {
                let i = right.schema().maybe_index_of_column(column)?;
                Some(format!("r.{}", column_name(i)))
            }
        };
        let both = left.schema().join(right.schema()).ok()?;
        conditions.push(ExprRenderer::new(&both, &column).predicate(filter)?);
    }
    let on = if conditions.is_empty() {
        "TRUE".to_string()
    } else {
        conditions.join(" AND ")
    };

    // Semi and anti joins keep one side; Spark writes them only as LEFT
    // joins, so a right one puts its kept side first.
    let (keyword, left_columns, right_columns, swap) = match join_type {
        JoinType::Inner => ("INNER JOIN", true, true, false),
        JoinType::Left => ("LEFT OUTER JOIN", true, true, false),
        JoinType::Right => ("RIGHT OUTER JOIN", true, true, false),
        JoinType::Full => ("FULL OUTER JOIN", true, true, false),
        JoinType::LeftSemi => ("LEFT SEMI JOIN", true, false, false),
        JoinType::LeftAnti => ("LEFT ANTI JOIN", true, false, false),
        JoinType::RightSemi => ("LEFT SEMI JOIN", false, true, true),
        JoinType::RightAnti => ("LEFT ANTI JOIN", false, true, true),
        JoinType::LeftMark | JoinType::RightMark => return None,
    };
    let mut columns = Vec::new();
    for (kept, alias, width) in [
        (left_columns, "l", left_width),
        (right_columns, "r", right_width),
    ] {
        if kept {
            let offset = columns.len();
            columns.extend(
                (0..width)
                    .map(|i| format!("{alias}.{} AS {}", column_name(i), column_name(offset + i))),
            );
        }
    }
    let columns = if columns.is_empty() {
        "TRUE AS _empty".to_string()
    } else {
        columns.join(", ")
    };
    let (first, second) = if swap {
        (format!("({}) AS r", r.sql), format!("({}) AS l", l.sql))
    } else {
        (format!("({}) AS l", l.sql), format!("({}) AS r", r.sql))
    };
    Some(l.with_sql(format!(
        "SELECT {columns} FROM {first} {keyword} {second} ON {on}"
    )))
}

/// Renders with column references resolved to positions of `schema`,
/// written as `alias._cN`.
fn over<T>(
    schema: &DFSchema,
    alias: &str,
    render: impl FnOnce(&ExprRenderer<'_>) -> Option<T>,
) -> Option<T> {
    let column = |column: &Column| {
        let index = schema.maybe_index_of_column(column)?;
        Some(format!("{alias}.{}", column_name(index)))
    };
    render(&ExprRenderer::new(schema, &column))
}

/// `expr AS _c0, expr AS _c1, ...`; a node with no columns selects a
/// constant no parent refers to (Spark has no empty `SELECT`).
fn select_list(exprs: &[String]) -> String {
    if exprs.is_empty() {
        return "TRUE AS _empty".to_string();
    }
    exprs
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{e} AS {}", column_name(i)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The input's `width` columns, unchanged.
fn pass_through(width: usize, alias: &str) -> String {
    let columns = (0..width)
        .map(|i| format!("{alias}.{}", column_name(i)))
        .collect::<Vec<_>>();
    select_list(&columns)
}

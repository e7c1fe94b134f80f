//! Optimizer rules that make local plans faster without changing their
//! results.
//!
//! - [`semi_join`]: semi and anti joins (`IN`, `EXISTS` and their negations)
//!   move below the inner joins whose rows they filter.
//!
//! [`install`] adds them to a session, with lakefed's semantics
//! (`crate::semantics::install`).

pub mod semi_join;

use std::sync::Arc;

use datafusion::prelude::SessionContext;

use semi_join::PushSemiJoinThroughJoin;

/// Adds lakefed's optimizer rules to `ctx`, once.
pub fn install(ctx: &SessionContext) {
    let installed = ctx
        .state()
        .optimizers()
        .iter()
        .any(|rule| rule.name() == PushSemiJoinThroughJoin::NAME);
    if !installed {
        ctx.add_optimizer_rule(Arc::new(PushSemiJoinThroughJoin));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionContext;

    /// Tables `a(k, v)`, `b(k, v)`, `c(k, v)` and `s(k, v)` with NULLs and
    /// duplicate keys, registered in `ctx`.
    fn register_tables(ctx: &SessionContext) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("v", DataType::Int64, true),
        ]));
        let column = |values: Vec<Option<i64>>| Arc::new(Int64Array::from(values));
        let tables = [
            (
                "a",
                vec![Some(1), Some(2), Some(2), None, Some(5), Some(7)],
                vec![Some(1), Some(2), Some(3), Some(4), None, Some(1)],
            ),
            (
                "b",
                vec![Some(1), Some(2), Some(3), None, Some(4)],
                vec![Some(1), Some(1), Some(3), Some(4), Some(2)],
            ),
            (
                "c",
                vec![Some(1), Some(2), Some(3), Some(4)],
                vec![Some(10), Some(20), None, Some(40)],
            ),
            (
                "s",
                vec![Some(2), Some(5), Some(5), Some(9)],
                vec![Some(3), None, Some(1), Some(2)],
            ),
        ];
        for (name, keys, values) in tables {
            let batch =
                RecordBatch::try_new(Arc::clone(&schema), vec![column(keys), column(values)])
                    .unwrap();
            let table = MemTable::try_new(Arc::clone(&schema), vec![vec![batch]]).unwrap();
            ctx.register_table(name, Arc::new(table)).unwrap();
        }
    }

    /// The result of `sql` as table lines, sorted.
    async fn sorted_rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let table = pretty_format_batches(&batches).unwrap().to_string();
        let mut lines: Vec<String> = table.lines().map(str::to_string).collect();
        lines.sort();
        lines
    }

    /// Differential: every query gives DataFusion's answer without the rule,
    /// and the rule moved at least one semi or anti join below an inner join.
    #[tokio::test]
    async fn semi_and_anti_joins_through_inner_joins_keep_their_answers() {
        let lakefed = crate::new_session_context();
        let datafusion = SessionContext::new();
        register_tables(&lakefed);
        register_tables(&datafusion);
        let joined = "SELECT a.k AS ak, a.v AS av, b.k AS bk, b.v AS bv, c.k AS ck, c.v AS cv \
                      FROM a JOIN b ON a.v = b.v JOIN c ON b.k = c.k";
        let queries = [
            format!("{joined} WHERE a.k IN (SELECT k FROM s)"),
            format!("{joined} WHERE a.k NOT IN (SELECT k FROM s)"),
            format!("{joined} WHERE a.k NOT IN (SELECT k FROM s WHERE k IS NOT NULL)"),
            format!("{joined} WHERE b.k NOT IN (SELECT v FROM s)"),
            format!("{joined} WHERE EXISTS (SELECT 1 FROM s WHERE s.k = a.k AND s.v < a.v)"),
            format!("{joined} WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.v = c.v)"),
            format!("{joined} WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.k = a.k AND s.v <> b.v)"),
            format!("{joined} WHERE c.k IN (SELECT v FROM s) AND a.k NOT IN (SELECT k FROM s)"),
        ];
        // TPC-H Q18's shape: the joins in WHERE, an aggregate above.
        let q18 = "SELECT a.k, b.v, sum(c.v) FROM a, b, c \
                   WHERE a.k IN (SELECT k FROM s GROUP BY k HAVING count(*) > 1) \
                   AND a.v = b.v AND b.k = c.k GROUP BY a.k, b.v";
        for sql in queries.iter().map(String::as_str).chain([q18]) {
            assert_eq!(
                sorted_rows(&lakefed, sql).await,
                sorted_rows(&datafusion, sql).await,
                "{sql}"
            );
        }
        for sql in [queries[0].as_str(), q18] {
            let plan = lakefed
                .sql(&format!("EXPLAIN {sql}"))
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            let plan = pretty_format_batches(&plan).unwrap().to_string();
            let semi = plan.find("LeftSemi Join").expect("a semi join");
            let inner = plan.find("Inner Join").expect("an inner join");
            assert!(
                inner < semi,
                "the semi join is not below an inner join:\n{plan}"
            );
        }
    }
}

//! Pushdown never changes an answer: every filter runs once against the
//! Spark table (pushed into the Spark SQL when lakefed claims Spark agrees)
//! and once against a local copy of the same rows (evaluated by DataFusion),
//! and the results must be equal. The test also checks which filters were
//! pushed, so a renderer that silently stops pushing fails too.
//!
//! Literals and identifiers with quotes, backticks, backslashes, newlines,
//! comment markers and unicode make a round trip through real Spark queries.

use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::physical_plan::displayable;
use lakefed::sources::spark_connect::sql::{quote_identifier, string_literal};

use crate::spark_env::{NS, client, context, format_rows};

/// Filters over `items`, and whether Spark is sent each one.
const FILTERS: &[(&str, bool)] = &[
    ("id = 3", true),
    ("id <> 3", true),
    ("qty < 0", true),
    ("qty <= 0", true),
    ("qty > 7", true),
    ("qty >= 2147483647", true),
    ("qty = -2147483648", true),
    ("id > 2 AND qty < 8", true),
    ("id = 1 OR qty IS NULL", true),
    ("NOT (qty > 5)", true),
    ("qty BETWEEN -3 AND 7", true),
    ("qty NOT BETWEEN -3 AND 7", true),
    ("id IN (1, 4, 9, 12)", true),
    ("qty NOT IN (10, 0)", true),
    ("qty NOT IN (10, NULL)", true),
    ("qty IS NULL", true),
    ("qty IS NOT NULL", true),
    ("price > 1.5", true),
    // DataFusion reads these literals as floats and widens the column to
    // DECIMAL(30, 15): the widening cast is sent too.
    ("price = 99999999.99", true),
    ("price < -0.001", true),
    ("CAST(qty AS DECIMAL(12, 2)) = 10", true),
    ("price BETWEEN 0 AND 1", true),
    ("name = 'it''s'", true),
    ("name = 'back\\slash'", true),
    ("name <> 'apple'", true),
    ("name < 'a'", true),
    ("name >= 'x'", true),
    ("name = 'héllo wörld ✓'", true),
    ("name = ''", true),
    ("name IN ('x`y', '--comment', '/*c*/')", true),
    ("name LIKE 'a%'", true),
    ("name LIKE '%\\%%'", true),
    ("name LIKE '_pple'", true),
    ("name LIKE 'per\\%cent\\_under'", true),
    ("name NOT LIKE '%l%'", true),
    ("name LIKE '%line1_line2%'", true),
    ("name LIKE 'a\\\\\\%b'", true),
    ("d = DATE '2024-02-29'", true),
    ("d < DATE '1000-01-01'", true),
    ("d >= DATE '2024-01-01'", true),
    ("ts = TIMESTAMP '1970-01-01T00:00:00Z'", true),
    ("ts < TIMESTAMP '2000-01-01T00:00:00Z'", true),
    ("ts > TIMESTAMP '2024-02-29T12:29:59.999999Z'", true),
    ("ntz >= TIMESTAMP '2024-01-01 00:00:00'", true),
    ("ntz = TIMESTAMP '2000-06-15 08:00:00.5'", true),
    ("flag", true),
    ("NOT flag", true),
    ("flag IS TRUE", true),
    ("flag IS NOT TRUE", true),
    ("flag IS FALSE", true),
    ("flag IS NOT FALSE", true),
    ("flag IS UNKNOWN", true),
    ("flag = (qty > 5)", true),
    ("tag = X'00FF'", true),
    ("tag > X'0A'", true),
    ("(qty IS DISTINCT FROM 10)", true),
    ("(qty IS NOT DISTINCT FROM NULL)", true),
    ("CAST(qty AS BIGINT) > 5", true),
    ("category = 'fruit' AND (flag OR qty < 0)", true),
    // Kept local: floating point, case-insensitive matching, functions,
    // arithmetic, patterns Spark would reject.
    ("ratio = 0.0", false),
    ("ratio > 0", false),
    ("ratio IN (0.5, -0.0)", false),
    ("name ILIKE 'APPLE'", false),
    ("upper(name) = 'APPLE'", false),
    ("qty + 1 > 5", false),
    ("qty / 2 = 1", false),
    ("name LIKE 'a\\b%'", false),
    ("CAST(qty AS VARCHAR) LIKE '1%'", false),
    ("CAST(price AS DOUBLE) > 1", false),
    ("length(name) > 5", false),
];

#[tokio::test(flavor = "multi_thread")]
async fn filters_give_the_same_rows_pushed_down_or_not() {
    let ctx = context().await;
    let table = format!("spark.{NS}.items");
    let all = ctx.sql(&format!("SELECT * FROM {table}")).await.unwrap();
    let schema = all.schema().inner().clone();
    let rows = all.collect().await.unwrap();
    assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 14);
    ctx.register_table(
        "local_items",
        Arc::new(MemTable::try_new(schema, vec![rows]).unwrap()),
    )
    .unwrap();

    let mut failures = Vec::new();
    for (filter, pushed) in FILTERS {
        let remote = format!("SELECT * FROM {table} WHERE {filter}");
        let local = format!("SELECT * FROM local_items WHERE {filter}");
        let df = ctx.sql(&remote).await.unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let plan_text = displayable(plan.as_ref()).indent(false).to_string();
        let was_pushed = plan_text.contains(" WHERE ");
        let mut remote_rows = format_rows(&df.collect().await.unwrap());
        let mut local_rows = format_rows(&ctx.sql(&local).await.unwrap().collect().await.unwrap());
        remote_rows.sort();
        local_rows.sort();
        if remote_rows != local_rows {
            failures.push(format!(
                "{filter}: Spark {remote_rows:?} vs DataFusion {local_rows:?}\n{plan_text}"
            ));
        }
        if was_pushed != *pushed {
            failures.push(format!(
                "{filter}: pushed = {was_pushed}, expected {pushed}\n{plan_text}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Text that has broken SQL generators: quotes of both kinds, backticks,
/// backslashes before quotes and at the end, escapes Spark would decode,
/// comment markers, newlines, NUL, unicode.
fn hostile_strings() -> Vec<String> {
    let pieces = [
        "'", "''", "\"", "`", "``", "\\", "\\'", "\\\\", "\\n", "\\u0041", "%", "_", "--", "/*",
        "*/", ";", "\n", "\r\n", "\t", "\0", "é", "✓", "𝄞", "$1", "?", ":name", " ", "x",
    ];
    // Deterministic mixes of 1 to 4 pieces (a fixed-seed LCG).
    let mut state: u64 = 0x5eed;
    let mut next = |bound: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % bound as u64) as usize
    };
    let mut strings: Vec<String> = pieces.iter().map(|p| p.to_string()).collect();
    for _ in 0..200 {
        let len = 1 + next(4);
        strings.push((0..len).map(|_| pieces[next(pieces.len())]).collect());
    }
    strings
}

#[tokio::test(flavor = "multi_thread")]
async fn literals_and_identifiers_reach_spark_exactly_as_written() {
    let ctx = context().await;
    let spark = client(&ctx);
    let strings = hostile_strings();
    // One query with every string as a literal and as a column name.
    let columns: Vec<String> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| {
            // Spark column names cannot hold NUL, and must be unique.
            let name = format!("{}#{i}", s.replace('\0', ""));
            format!("{} AS {}", string_literal(s), quote_identifier(&name))
        })
        .collect();
    let batches = spark
        .collect(&format!("SELECT {}", columns.join(", ")))
        .await
        .unwrap();
    let batch = &batches[0];
    for (i, expected) in strings.iter().enumerate() {
        let name = format!("{}#{i}", expected.replace('\0', ""));
        assert_eq!(batch.schema().field(i).name(), &name);
        let value = batch
            .column(i)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .unwrap()
            .value(0);
        assert_eq!(value, expected, "literal {}", string_literal(expected));
    }
}

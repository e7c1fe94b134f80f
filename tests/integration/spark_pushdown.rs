//! Pushdown never changes an answer: every filter runs once against the
//! Spark table (pushed into the Spark SQL when lakefed claims Spark agrees)
//! and once against a local copy of the same rows (evaluated by DataFusion),
//! and the results must be equal. The test also checks which filters were
//! pushed, so a renderer that silently stops pushing fails too.
//!
//! Literals and identifiers with quotes, backticks, backslashes, newlines,
//! comment markers, unicode and Spark's variable references (`${env:HOME}`,
//! which Spark substitutes in SQL text, inside quotes too) make a round trip
//! through real Spark queries: a fixed list straight through the renderer,
//! and random ones (a property test) through lakefed's pushdown and
//! federation.

use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::physical_plan::displayable;
use lakefed::unstable::SparkConnectClient;
use lakefed::unstable::{quote_identifier, string_literal};

use crate::spark_env::{NS, client, context, format_rows, query};

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
    // Arithmetic and functions on the allow-list.
    ("qty + 1 > 5", true),
    ("upper(name) = 'APPLE'", true),
    ("length(name) > 5", true),
    ("price * 2 - price >= 1.5", true),
    ("coalesce(category, 'none') = 'none'", true),
    ("CASE WHEN qty > 5 THEN 'big' ELSE name END = 'big'", true),
    ("name || '!' = 'apple!'", true),
    // Kept local: floating point, case-insensitive matching, functions
    // off the allow-list, division and modulo, patterns Spark would reject.
    ("ratio = 0.0", false),
    ("ratio > 0", false),
    ("ratio IN (0.5, -0.0)", false),
    ("name ILIKE 'APPLE'", false),
    ("qty % 2 = 1", false),
    ("qty / 2 = 1", false),
    ("name LIKE 'a\\b%'", false),
    ("CAST(qty AS VARCHAR) LIKE '1%'", false),
    ("CAST(price AS DOUBLE) > 1", false),
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
        "'",
        "''",
        "\"",
        "`",
        "``",
        "\\",
        "\\'",
        "\\\\",
        "\\n",
        "\\u0041",
        "%",
        "_",
        "--",
        "/*",
        "*/",
        ";",
        "\n",
        "\r\n",
        "\t",
        "\0",
        "é",
        "✓",
        "𝄞",
        "$1",
        "?",
        ":name",
        " ",
        "x",
        "${env:HOME}",
        "${system:java.version}",
        "${lakefed_probe}",
        "${",
        "$",
        "}",
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
    substitution(&spark, true).await;
    // Every string as a literal: exactly its value with substitution on.
    let literals: Vec<String> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{} AS c{i}", string_literal(s)))
        .collect();
    let batches = spark
        .collect(&format!("SELECT {}", literals.join(", ")))
        .await
        .unwrap();
    for (i, expected) in strings.iter().enumerate() {
        let value = batches[0]
            .column(i)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .unwrap()
            .value(0);
        assert_eq!(value, expected, "literal {}", string_literal(expected));
    }
    // And as a column name: aliases take no `IDENTIFIER` clause, so this
    // checks the quoting with substitution off.
    substitution(&spark, false).await;
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
    substitution(&spark, true).await;
    for (i, expected) in strings.iter().enumerate() {
        let name = format!("{}#{i}", expected.replace('\0', ""));
        assert_eq!(batches[0].schema().field(i).name(), &name);
    }
}

/// Turns Spark's variable substitution on or off for the session, and
/// defines `lakefed_probe`, so that a `${lakefed_probe}` that Spark
/// substituted shows.
async fn substitution(spark: &SparkConnectClient, on: bool) {
    for statement in [
        format!("SET spark.sql.variable.substitute = {on}"),
        "SET lakefed_probe = substituted".to_string(),
    ] {
        spark.collect(&statement).await.unwrap();
    }
}

/// `count` random strings: hostile pieces mixed with random code points
/// (any plane, no NUL: Spark names cannot hold it), from a fixed seed.
fn random_strings(seed: u64, count: usize) -> Vec<String> {
    let pieces = [
        "'",
        "\"",
        "`",
        "\\",
        "\\'",
        "--",
        "/*",
        "*/",
        ";",
        "\n",
        "\r",
        "\t",
        "%",
        "_",
        "$1",
        " ",
        "${env:HOME}",
        "${system:java.version}",
        "${lakefed_probe}",
        "${",
        "}",
    ];
    let mut state = seed;
    let mut next = |bound: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % bound
    };
    (0..count)
        .map(|_| {
            let len = 1 + next(6);
            (0..len)
                .map(|_| {
                    if next(2) == 0 {
                        pieces[next(pieces.len() as u64) as usize].to_string()
                    } else {
                        let code = match next(3) {
                            0 => 0x20 + next(0x5f),
                            1 => 0xa0 + next(0xd7ff - 0xa0),
                            _ => 0x10000 + next(0xfffff),
                        } as u32;
                        char::from_u32(code).map(String::from).unwrap_or_default()
                    }
                })
                .collect()
        })
        .collect()
}

/// Property: whatever a user writes as a string literal or a quoted
/// identifier, Spark receives exactly that value through lakefed's pushdown,
/// as a filter and as a computed column of a federated query.
#[tokio::test(flavor = "multi_thread")]
async fn random_literals_and_identifiers_round_trip_through_pushdown() {
    let ctx = context().await;
    let spark = client(&ctx);
    let strings = random_strings(0x1a4efed, 150);
    for reference in ["${env:HOME}", "${system:java.version}", "${lakefed_probe}"] {
        assert!(
            strings.iter().any(|s| s.contains(reference)),
            "no {reference}"
        );
    }

    // The strings as rows (written by the byte form that the test above
    // checks), and as column names of a view, created with substitution
    // off (aliases cannot be written as bytes); the view keeps that setting,
    // lakefed's queries run with it on.
    let rows: Vec<String> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| format!("({i}, {})", string_literal(s)))
        .collect();
    let names: Vec<String> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{s}#{i}"))
        .collect();
    let columns: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{i} AS {}", quote_identifier(name)))
        .collect();
    for statement in [
        format!("DROP TABLE IF EXISTS {NS}.hostile_values"),
        format!(
            "CREATE TABLE {NS}.hostile_values USING parquet AS SELECT * FROM VALUES {} AS t(k, v)",
            rows.join(", ")
        ),
        format!(
            "CREATE OR REPLACE VIEW {NS}.hostile_names AS SELECT {}",
            columns.join(", ")
        ),
    ] {
        substitution(&spark, !statement.contains("VIEW")).await;
        spark
            .collect(&statement)
            .await
            .unwrap_or_else(|err| panic!("{statement}: {err}"));
    }
    substitution(&spark, true).await;

    let sql_string = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let sql_identifier = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut failures = Vec::new();
    for (i, value) in strings.iter().enumerate() {
        // A pushed filter and a pushed computed column, in one federated query.
        let sql = format!(
            "SELECT min(k), max(k), count(*), max({lit} || '') FROM spark.{NS}.hostile_values WHERE v = {lit}",
            lit = sql_string(value)
        );
        let plan = ctx.sql(&sql).await.unwrap().into_optimized_plan().unwrap();
        assert!(
            plan.display_indent().to_string().contains(".federated_"),
            "{sql} was not federated:\n{}",
            plan.display_indent()
        );
        let first = strings.iter().position(|s| s == value).unwrap();
        let last = strings.iter().rposition(|s| s == value).unwrap();
        let count = strings.iter().filter(|s| *s == value).count();
        let got = query(&ctx, &sql).await;
        let expected = vec![format!("{first}|{last}|{count}|{value}")];
        if got != expected {
            failures.push(format!("{sql}\n  got {got:?}, expected {expected:?}"));
        }

        // A quoted identifier reaching Spark inside a federated aggregate.
        let name = sql_identifier(&names[i]);
        let sql = format!(
            "SELECT {name}, count(*) FROM spark.{NS}.hostile_names WHERE {name} = {i} GROUP BY {name}"
        );
        let got = query(&ctx, &sql).await;
        if got != vec![format!("{i}|1")] {
            failures.push(format!("{sql}\n  got {got:?}"));
        }
    }

    // Unicode case mapping and length, evaluated by Spark in a federated
    // projection, must be what DataFusion computes (Rust's own mapping).
    let sql = format!(
        "SELECT k, upper(v), lower(v), length(v) FROM spark.{NS}.hostile_values ORDER BY k"
    );
    let plan = ctx.sql(&sql).await.unwrap().into_optimized_plan().unwrap();
    assert!(plan.display_indent().to_string().contains(".federated_"));
    let rows = query(&ctx, &sql).await;
    for (i, value) in strings.iter().enumerate() {
        let expected = format!(
            "{i}|{}|{}|{}",
            value.to_uppercase(),
            value.to_lowercase(),
            value.chars().count()
        );
        if rows.get(i) != Some(&expected) {
            failures.push(format!(
                "{sql}\n  row {i}: got {:?}, expected {expected:?}",
                rows.get(i)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

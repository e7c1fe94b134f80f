//! Deterministic Delta tables the sqllogictest suites read.
//!
//! Every table is written by `deltalake` from rows that DataFusion computes
//! from SQL below, so the expected values in the `.slt` files can be read
//! straight off this file.

use std::path::Path;

use datafusion::prelude::SessionContext;
use lakefed::sources::delta::{SaveMode, StorageOptions, write_batches};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every primitive type, with nulls, negatives, extremes, unicode and quotes.
const TYPES: &str = r#"
SELECT * FROM (VALUES
  (1, true, arrow_cast(127, 'Int8'), arrow_cast(32767, 'Int16'), arrow_cast(2147483647, 'Int32'), 9223372036854775807,
   arrow_cast(1.5, 'Float32'), 3.25, CAST('12345678901234567890.1234567890' AS DECIMAL(38, 10)),
   CAST('999.99' AS DECIMAL(5, 2)), 'plain', arrow_cast('bytes', 'Binary'), DATE '2024-02-29',
   arrow_cast('2024-02-29 12:34:56.789012', 'Timestamp(Microsecond, Some("UTC"))'),
   arrow_cast('2024-02-29 12:34:56.789012', 'Timestamp(Microsecond, None)')),
  (2, false, arrow_cast(-128, 'Int8'), arrow_cast(-32768, 'Int16'), -2147483648, -9223372036854775808,
   arrow_cast(-0.0, 'Float32'), -1e300, CAST('-0.0000000001' AS DECIMAL(38, 10)),
   CAST('-999.99' AS DECIMAL(5, 2)), 'unicode: héllo 日本 🦀', arrow_cast('', 'Binary'), DATE '1970-01-01',
   arrow_cast('1970-01-01 00:00:00', 'Timestamp(Microsecond, Some("UTC"))'),
   arrow_cast('1969-12-31 23:59:59.999999', 'Timestamp(Microsecond, None)')),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, true, arrow_cast(0, 'Int8'), arrow_cast(0, 'Int16'), 0, 0,
   arrow_cast('NaN', 'Float32'), CAST('Infinity' AS DOUBLE), CAST('0' AS DECIMAL(38, 10)),
   CAST('0.01' AS DECIMAL(5, 2)), 'it''s a "quote" and a back\slash', arrow_cast('\x00', 'Binary'), DATE '9999-12-31',
   arrow_cast('2262-04-11 23:47:16', 'Timestamp(Microsecond, Some("UTC"))'),
   arrow_cast('0001-01-01 00:00:00', 'Timestamp(Microsecond, None)')),
  (5, false, arrow_cast(1, 'Int8'), arrow_cast(1, 'Int16'), 1, 1,
   arrow_cast(1, 'Float32'), 1, CAST('1' AS DECIMAL(38, 10)),
   CAST('1' AS DECIMAL(5, 2)), '', NULL, DATE '2000-01-01',
   arrow_cast('2000-01-01 00:00:00', 'Timestamp(Microsecond, Some("UTC"))'),
   arrow_cast('2000-01-01 00:00:00', 'Timestamp(Microsecond, None)'))
) AS t(id, b, i8, i16, i32, i64, f32, f64, dec38, dec5, s, bin, d, ts, ts_ntz)
"#;

/// Struct, list and map columns, with nulls at every level.
const NESTED: &str = r#"
SELECT id,
  CASE WHEN id = 3 THEN NULL ELSE named_struct('x', id * 10, 'y', concat('n', id)) END AS st,
  CASE WHEN id = 3 THEN NULL WHEN id = 2 THEN make_array() ELSE make_array(id, NULL, id + 1) END AS arr,
  CASE WHEN id = 3 THEN NULL ELSE map([concat('k', id)], [id]) END AS m
FROM (VALUES (1), (2), (3)) AS t(id)
"#;

/// Events across four days and two commits: partition pruning and file
/// skipping have something to skip.
fn events(commit: i64) -> String {
    format!(
        "SELECT id, CAST(id % 4 AS INT) AS bucket, concat('event-', id) AS name, \
         arrow_cast(DATE '2026-01-01' + CAST(id % 4 AS INT), 'Date32') AS day \
         FROM generate_series({start}, {end}) AS g(id)",
        start = commit * 1000,
        end = commit * 1000 + 999
    )
}

/// A table with four versions, for time travel:
/// v0 ids 1..3, v1 appends 4..5, v2 overwrites with 100, v3 appends 101.
const VERSIONS: &[(&str, SaveMode)] = &[
    (
        "SELECT id, concat('v0-', id) AS label FROM generate_series(1, 3) AS g(id)",
        SaveMode::Overwrite,
    ),
    (
        "SELECT id, concat('v1-', id) AS label FROM generate_series(4, 5) AS g(id)",
        SaveMode::Append,
    ),
    ("SELECT 100 AS id, 'v2-100' AS label", SaveMode::Overwrite),
    ("SELECT 101 AS id, 'v3-101' AS label", SaveMode::Append),
];

/// Writes every fixture table under `root` (which must be empty or missing).
pub async fn create(root: &Path) -> Result<(), BoxError> {
    let ctx = SessionContext::new();
    write(&ctx, &root.join("types"), TYPES, &[], SaveMode::Overwrite).await?;
    write(&ctx, &root.join("nested"), NESTED, &[], SaveMode::Overwrite).await?;
    for commit in 0..2 {
        write(
            &ctx,
            &root.join("events"),
            &events(commit),
            &["day"],
            SaveMode::Append,
        )
        .await?;
    }
    for (sql, mode) in VERSIONS {
        write(&ctx, &root.join("versions"), sql, &[], *mode).await?;
    }
    // A table with a CHECK constraint, which lakefed does not write to.
    let checked = root.join("checked");
    let rows = "SELECT * FROM (VALUES (1), (2)) AS t(id)";
    write(&ctx, &checked, rows, &[], SaveMode::Overwrite).await?;
    let url = url::Url::from_directory_path(std::path::absolute(&checked)?)
        .map_err(|()| format!("{} is not a directory path", checked.display()))?;
    deltalake::DeltaTable::try_from_url(url)
        .await?
        .add_constraint()
        .with_constraint("positive_id", "id > 0")
        .await?;
    changes(&ctx, &root.join("changes")).await?;
    // Changed by lakefed's own DML in the suites.
    with_change_feed(&root.join("feed")).await?;
    std::fs::create_dir_all(root.join("not_a_table"))?;
    std::fs::write(root.join("not_a_table").join("data.csv"), "a,b\n1,2\n")?;
    Ok(())
}

/// A table with its change data feed on, changed by delta-rs: v0 creates
/// it, v1 inserts ids 1..3, v2 deletes 2, v3 updates 3, v4 overwrites the
/// table with id 10.
async fn changes(ctx: &SessionContext, location: &Path) -> Result<(), BoxError> {
    let table = with_change_feed(location).await?;
    let rows = "SELECT CAST(id AS BIGINT) AS id, label FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS t(id, label)";
    let table = table.write(ctx.sql(rows).await?.collect().await?).await?;
    let (table, _) = table.delete().with_predicate("id = 2").await?;
    let (table, _) = table
        .update()
        .with_predicate("id = 3")
        .with_update("label", "'c2'")
        .await?;
    let rows = "SELECT CAST(10 AS BIGINT) AS id, 'x' AS label";
    table
        .write(ctx.sql(rows).await?.collect().await?)
        .with_save_mode(SaveMode::Overwrite)
        .await?;
    Ok(())
}

/// An empty table `(id BIGINT NOT NULL, label STRING)` with its change
/// data feed on, at version 0.
async fn with_change_feed(location: &Path) -> Result<deltalake::DeltaTable, BoxError> {
    use deltalake::kernel::DataType;
    std::fs::create_dir_all(location)?;
    let url = url::Url::from_directory_path(std::path::absolute(location)?)
        .map_err(|()| format!("{} is not a directory path", location.display()))?;
    Ok(deltalake::DeltaTable::try_from_url(url)
        .await?
        .create()
        .with_column("id", DataType::LONG, false, None)
        .with_column("label", DataType::STRING, true, None)
        .with_configuration_property(deltalake::TableProperty::EnableChangeDataFeed, Some("true"))
        .await?)
}

async fn write(
    ctx: &SessionContext,
    location: &Path,
    sql: &str,
    partition_by: &[&str],
    mode: SaveMode,
) -> Result<(), BoxError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let location = location.to_string_lossy();
    write_batches(
        &location,
        &StorageOptions::default(),
        batches,
        partition_by,
        mode,
    )
    .await?;
    Ok(())
}

//! The Delta conformance corpus (`tests/data/delta-conformance`, kept in the
//! repository): real tables written by Delta Lake on Spark, each read
//! through lakefed and compared with its expected contents.
//!
//! A case the engine cannot read yet is listed in `KNOWN_FAILURES` (and in the
//! README) with the reason; the test fails if a listed case starts passing, so
//! the list stays true.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use lakefed::SessionContextExt;
use serde_json::Value;

/// Cases lakefed cannot read correctly yet, with the reason.
const KNOWN_FAILURES: &[(&str, &str)] = &[
    (
        "basic-with-vacuum-protocol-check-feature",
        "deltalake 1.1 refuses the vacuumProtocolCheck reader feature, which changes nothing for readers",
    ),
    (
        "canonicalized-paths-normal-a",
        "deltalake 1.1 does not match a `remove` to its `add` when the two spell the path differently, \
         so it reads a removed file",
    ),
    (
        "canonicalized-paths-special-a",
        "as canonicalized-paths-normal-a, with spaces and special characters in the path",
    ),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/delta-conformance")
}

#[tokio::test]
async fn every_conformance_case() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("the conformance corpus is in the repository (tests/data/delta-conformance)")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("case.json").exists())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 50,
        "expected the whole corpus, found {} cases",
        cases.len()
    );

    let mut unexpected = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let known = KNOWN_FAILURES.iter().find(|(n, _)| *n == name);
        match (check_case(case).await, known) {
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Err(err), None) => unexpected.push(format!("{name}: {err}")),
            (Ok(()), Some(_)) => {
                unexpected.push(format!("{name}: passes now; remove it from KNOWN_FAILURES"))
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "conformance failures:\n{}",
        unexpected.join("\n")
    );
}

async fn check_case(case: &Path) -> Result<(), String> {
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap();
    let table = case.join("delta").to_string_lossy().into_owned();
    let ctx = lakefed::new_session_context();
    let opened = ctx.register_delta("t", &table).await;
    let read = match opened {
        Ok(()) => match ctx.sql("SELECT * FROM t").await {
            Ok(df) => df.collect().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    match spec["expected"]["kind"].as_str().unwrap() {
        "error" => match read {
            Ok(batches) => Err(format!(
                "expected an error, read {} rows",
                batches.iter().map(RecordBatch::num_rows).sum::<usize>()
            )),
            Err(message) if message.contains("panicked at") => Err(format!("panicked: {message}")),
            Err(_) => Ok(()),
        },
        "facts" => {
            let batches = read?;
            let facts: Value = serde_json::from_str(
                &std::fs::read_to_string(case.join("expected/facts.json")).unwrap(),
            )
            .unwrap();
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            let expected_rows = facts["row_count"].as_u64().unwrap() as usize;
            if rows != expected_rows {
                return Err(format!("{rows} rows, expected {expected_rows}"));
            }
            let schema = table_schema(&ctx).await?;
            for column in facts["columns"].as_array().unwrap() {
                let name = column["name"].as_str().unwrap();
                let field = schema.field_with_name(name).map_err(|e| e.to_string())?;
                let delta_type = column["type"].as_str().unwrap();
                if !matches_delta_type(delta_type, field.data_type()) {
                    return Err(format!(
                        "column {name}: {} is not Delta {delta_type}",
                        field.data_type()
                    ));
                }
            }
            Ok(())
        }
        "parquet" => {
            let actual = read?;
            let expected_path = case.join("expected/latest/table_content.parquet");
            let reader = SessionContext::new();
            let expected = reader
                .read_parquet(
                    expected_path.to_string_lossy().as_ref(),
                    ParquetReadOptions::default(),
                )
                .await
                .map_err(|e| e.to_string())?
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            let actual_schema = table_schema(&ctx).await?;
            compare(&actual_schema, &actual, &expected)
        }
        other => Err(format!("unknown expected kind {other}")),
    }
}

/// The schema lakefed reports for the registered table `t`.
async fn table_schema(ctx: &SessionContext) -> Result<Arc<Schema>, String> {
    let df = ctx.table("t").await.map_err(|e| e.to_string())?;
    Ok(df.schema().inner().clone())
}

fn matches_delta_type(delta: &str, arrow: &DataType) -> bool {
    match delta {
        "integer" => arrow == &DataType::Int32,
        "long" => arrow == &DataType::Int64,
        "short" => arrow == &DataType::Int16,
        "byte" => arrow == &DataType::Int8,
        "string" => matches!(
            arrow,
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
        ),
        "boolean" => arrow == &DataType::Boolean,
        "double" => arrow == &DataType::Float64,
        "float" => arrow == &DataType::Float32,
        "date" => arrow == &DataType::Date32,
        _ => true,
    }
}

/// Rows as sorted text, after casting each actual column to the expected
/// column's type; a time zone on one side only is a mismatch.
fn compare(
    actual_schema: &Schema,
    actual: &[RecordBatch],
    expected: &[RecordBatch],
) -> Result<(), String> {
    let Some(expected_schema) = expected.first().map(RecordBatch::schema) else {
        let rows: usize = actual.iter().map(RecordBatch::num_rows).sum();
        return if rows == 0 {
            Ok(())
        } else {
            Err(format!("{rows} rows, expected none"))
        };
    };
    let mut expected_names: Vec<&str> = expected_schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let mut actual_names: Vec<&str> = actual_schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    expected_names.sort();
    actual_names.sort();
    if expected_names != actual_names {
        return Err(format!(
            "columns {actual_names:?}, expected {expected_names:?}"
        ));
    }
    for field in expected_schema.fields() {
        let actual_type = actual_schema
            .field_with_name(field.name())
            .unwrap()
            .data_type();
        if timezone_of(actual_type).is_some() != timezone_of(field.data_type()).is_some() {
            return Err(format!(
                "column {}: {actual_type}, expected {}",
                field.name(),
                field.data_type()
            ));
        }
    }
    let actual_rows = rows_as_text(actual, &expected_schema)?;
    let expected_rows = rows_as_text(expected, &expected_schema)?;
    if actual_rows != expected_rows {
        let diff: Vec<_> = actual_rows
            .iter()
            .filter(|r| !expected_rows.contains(r))
            .take(3)
            .collect();
        return Err(format!(
            "{} rows, expected {}; e.g. unexpected {diff:?}",
            actual_rows.len(),
            expected_rows.len()
        ));
    }
    Ok(())
}

fn timezone_of(data_type: &DataType) -> Option<&str> {
    match data_type {
        DataType::Timestamp(_, tz) => tz.as_deref(),
        _ => None,
    }
}

fn rows_as_text(batches: &[RecordBatch], schema: &Arc<Schema>) -> Result<Vec<String>, String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let columns = schema
            .fields()
            .iter()
            .map(|field| {
                let column = batch.column_by_name(field.name()).ok_or("missing column")?;
                cast(column, field.data_type()).map_err(|e| format!("column {}: {e}", field.name()))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let formatters = columns
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            rows.push(cells.join(" | "));
        }
        debug_assert!(columns.iter().all(|c| c.len() == batch.num_rows()));
    }
    rows.sort();
    Ok(rows)
}

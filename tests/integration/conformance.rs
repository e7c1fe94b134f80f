//! The Delta conformance corpus (`tests/data/delta-conformance`, kept in the
//! repository): real tables written by Delta Lake on Spark, and the extra
//! cases of `tests/data/delta-extra` (layouts the corpus lacks, written by
//! its `generate.py`), each read through lakefed, as a library and through
//! the CLI's JSON output, and compared with its expected contents. Every
//! case must pass; a case that must be refused must fail with the error
//! that says why.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use lakefed::SessionContextExt;
use serde_json::Value;

/// Why a table cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// Its protocol asks for a newer reader.
    Protocol,
    /// Its log is broken (no protocol, no metadata).
    InvalidLog,
    /// There is no Delta log at all.
    NotATable,
}

impl Refusal {
    fn of(err: &lakefed::Error) -> Option<Self> {
        match err {
            lakefed::Error::UnsupportedProtocol { .. } => Some(Self::Protocol),
            lakefed::Error::InvalidLog { .. } => Some(Self::InvalidLog),
            lakefed::Error::NotATable { .. } => Some(Self::NotATable),
            _ => None,
        }
    }

    /// The words the CLI prints for it.
    fn message(self) -> &'static str {
        match self {
            Self::Protocol => "uses a protocol lakefed cannot read",
            Self::InvalidLog => "is invalid",
            Self::NotATable => "is not a Delta table",
        }
    }
}

/// The cases that must be refused, and why.
const MUST_REFUSE: &[(&str, Refusal)] = &[
    ("deltalog-invalid-protocol-version", Refusal::Protocol),
    (
        "deltalog-state-reconstruction-from-checkpoint-missing-metadata",
        Refusal::InvalidLog,
    ),
    (
        "deltalog-state-reconstruction-from-checkpoint-missing-protocol",
        Refusal::InvalidLog,
    ),
    (
        "deltalog-state-reconstruction-without-metadata",
        Refusal::InvalidLog,
    ),
    ("no-delta-log-folder", Refusal::NotATable),
    ("log-gap-not-covered", Refusal::InvalidLog),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/delta-conformance")
}

#[tokio::test]
async fn every_conformance_case() {
    check_every_case(&corpus(), 50).await;
}

#[tokio::test]
async fn every_extra_case() {
    let extra = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/delta-extra");
    check_every_case(&extra, 8).await;
}

/// Checks every case under `dir`, of which there must be at least `at_least`.
async fn check_every_case(dir: &Path, at_least: usize) {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the cases are in the repository")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("case.json").exists())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= at_least,
        "expected at least {at_least} cases in {}, found {}",
        dir.display(),
        cases.len()
    );

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(err) = check_case(case).await {
            failures.push(format!("{name}: {err}"));
        }
        if let Err(err) = check_case_through_cli(case).await {
            failures.push(format!("{name} (CLI JSON): {err}"));
        }
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
}

fn read_spec(case: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap()
}

/// The refusal a must-refuse case expects; every case the corpus calls an
/// error must be listed.
fn expected_refusal(case: &Path) -> Result<Option<Refusal>, String> {
    let name = case.file_name().unwrap().to_string_lossy();
    let listed = MUST_REFUSE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, r)| *r);
    match (read_spec(case)["expected"]["kind"].as_str(), listed) {
        (Some("error"), None) => Err("an error case missing from MUST_REFUSE".to_string()),
        (Some("error"), listed) => Ok(listed),
        (_, Some(_)) => Err("listed in MUST_REFUSE but the corpus expects rows".to_string()),
        (_, None) => Ok(None),
    }
}

/// The lakefed error inside a DataFusion error, if there is one.
fn lakefed_error(err: &DataFusionError) -> Option<&lakefed::Error> {
    match err.find_root() {
        DataFusionError::External(source) => source.downcast_ref::<lakefed::Error>(),
        _ => None,
    }
}

/// Reads a case through the library.
async fn check_case(case: &Path) -> Result<(), String> {
    let table = case.join("delta").to_string_lossy().into_owned();
    let ctx = lakefed::new_session_context();
    let read = match ctx.register_delta("t", &table).await {
        Ok(()) => match ctx.sql("SELECT * FROM t").await {
            Ok(df) => df
                .collect()
                .await
                .map_err(|e| (lakefed_error(&e).and_then(Refusal::of), e.to_string())),
            Err(e) => Err((lakefed_error(&e).and_then(Refusal::of), e.to_string())),
        },
        Err(e) => Err((Refusal::of(&e), e.to_string())),
    };
    if let Some(expected) = expected_refusal(case)? {
        return match read {
            Ok(batches) => Err(format!(
                "expected an error ({expected:?}), read {} rows",
                batches.iter().map(RecordBatch::num_rows).sum::<usize>()
            )),
            Err((kind, message)) if kind != Some(expected) => Err(format!(
                "expected a {expected:?} error, got {kind:?}: {message}"
            )),
            Err(_) => Ok(()),
        };
    }
    let batches = read.map_err(|(_, message)| message)?;
    let schema = table_schema(&ctx).await?;
    check_rows(case, &schema, &batches).await
}

/// Compares rows read from `case` with what the case expects.
async fn check_rows(case: &Path, schema: &Schema, batches: &[RecordBatch]) -> Result<(), String> {
    let spec = read_spec(case);
    match spec["expected"]["kind"].as_str().unwrap() {
        "facts" => {
            let facts: Value = serde_json::from_str(
                &std::fs::read_to_string(case.join("expected/facts.json")).unwrap(),
            )
            .unwrap();
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            let expected_rows = facts["row_count"].as_u64().unwrap() as usize;
            if rows != expected_rows {
                return Err(format!("{rows} rows, expected {expected_rows}"));
            }
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
        "parquet" => compare(schema, batches, &expected_rows(case).await?),
        other => Err(format!("unknown expected kind {other}")),
    }
}

async fn expected_rows(case: &Path) -> Result<Vec<RecordBatch>, String> {
    let expected_path = case.join("expected/latest/table_content.parquet");
    SessionContext::new()
        .read_parquet(
            expected_path.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await
        .map_err(|e| e.to_string())?
        .collect()
        .await
        .map_err(|e| e.to_string())
}

/// Reads a case through `lakefed sql --format json`: a must-refuse case
/// fails with its error's words; any other prints one JSON object per row
/// with every column (`null` included), whose values, read back into the
/// table's schema, are the expected rows.
async fn check_case_through_cli(case: &Path) -> Result<(), String> {
    let table = case.join("delta").to_string_lossy().replace('\'', "''");
    let output = Command::new(env!("CARGO_BIN_EXE_lakefed"))
        .args([
            "sql",
            "--format",
            "json",
            &format!("SELECT * FROM delta_scan('{table}')"),
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if let Some(expected) = expected_refusal(case)? {
        return match output.status.success() {
            true => Err(format!(
                "expected an error ({expected:?}), the CLI succeeded"
            )),
            false if !stderr.contains(expected.message()) => Err(format!(
                "expected a {expected:?} error, the CLI said: {stderr}"
            )),
            false => Ok(()),
        };
    }
    if !output.status.success() {
        return Err(format!("the CLI failed: {stderr}"));
    }
    let ctx = lakefed::new_session_context();
    ctx.register_delta("t", &case.join("delta").to_string_lossy())
        .await
        .map_err(|e| e.to_string())?;
    let schema = table_schema(&ctx).await?;
    let mut lines = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let row: serde_json::Map<String, Value> =
            serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
        let mut keys: Vec<&String> = row.keys().collect();
        let mut columns: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
        keys.sort();
        columns.sort();
        if keys != columns {
            return Err(format!("a line has keys {keys:?}, the table {columns:?}"));
        }
        lines.push(line.to_string());
    }
    let batches = json_lines_as_batches(&lines, &schema)?;
    check_rows(case, &schema, &batches).await
}

/// JSON lines read back into `schema` with arrow's JSON reader (an
/// implementation independent of the CLI's writer). Binary values are
/// base64 text and dictionaries plain values, so they are read as such and
/// turned back into the table's types.
fn json_lines_as_batches(lines: &[String], schema: &Schema) -> Result<Vec<RecordBatch>, String> {
    use datafusion::arrow::json::ReaderBuilder;
    let readable = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_data_type(readable(f.data_type())))
            .collect::<Vec<_>>(),
    ));
    let text = lines.join("\n");
    let reader = ReaderBuilder::new(Arc::clone(&readable))
        .build(std::io::Cursor::new(text))
        .map_err(|e| e.to_string())?;
    let mut batches = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| format!("reading the CLI's JSON back: {e}"))?;
        let columns = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(column, field)| restore(column, field.data_type()))
            .collect::<Result<Vec<_>, String>>()?;
        batches.push(
            RecordBatch::try_new(Arc::new(schema.clone()), columns).map_err(|e| e.to_string())?,
        );
    }
    Ok(batches)
}

/// The type JSON spells a value of `data_type` as.
fn readable(data_type: &DataType) -> DataType {
    use datafusion::arrow::datatypes::Field;
    let field =
        |f: &Arc<Field>| Arc::new(f.as_ref().clone().with_data_type(readable(f.data_type())));
    match data_type {
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => DataType::Utf8,
        DataType::Dictionary(_, values) => readable(values),
        DataType::List(item) => DataType::List(field(item)),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect()),
        other => other.clone(),
    }
}

/// `column`, as [`readable`] typed it, in `data_type` again.
fn restore(column: &ArrayRef, data_type: &DataType) -> Result<ArrayRef, String> {
    use base64::Engine as _;
    use datafusion::arrow::array::{AsArray, BinaryArray, ListArray, StructArray};
    let restored: ArrayRef = match data_type {
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Arc::new(
            column
                .as_string::<i32>()
                .iter()
                .map(|text| {
                    text.map(|text| base64::engine::general_purpose::STANDARD.decode(text))
                        .transpose()
                })
                .collect::<Result<BinaryArray, _>>()
                .map_err(|e| e.to_string())?,
        ),
        DataType::List(item) => {
            let list = column.as_list::<i32>();
            Arc::new(
                ListArray::try_new(
                    Arc::clone(item),
                    list.offsets().clone(),
                    restore(list.values(), item.data_type())?,
                    list.nulls().cloned(),
                )
                .map_err(|e| e.to_string())?,
            )
        }
        DataType::Struct(fields) => {
            let parent = column.as_struct();
            let children = parent
                .columns()
                .iter()
                .zip(fields)
                .map(|(child, field)| restore(child, field.data_type()))
                .collect::<Result<Vec<_>, String>>()?;
            Arc::new(
                StructArray::try_new(fields.clone(), children, parent.nulls().cloned())
                    .map_err(|e| e.to_string())?,
            )
        }
        _ => Arc::clone(column),
    };
    cast(&restored, data_type).map_err(|e| e.to_string())
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

/// A table with `vacuumProtocolCheck` reads, but lakefed does not write it:
/// a write could checkpoint the protocol without the feature. The refused
/// write commits nothing.
#[tokio::test]
async fn a_table_with_vacuum_protocol_check_is_read_but_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let source = corpus().join("basic-with-vacuum-protocol-check-feature/delta");
    let table = dir.path().join("t");
    copy_dir(&source, &table);
    let ctx = lakefed::new_session_context();
    ctx.register_delta("t", &table.to_string_lossy())
        .await
        .unwrap();
    let count = ctx
        .sql("SELECT count(*) AS n FROM t")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let n = datafusion::arrow::util::display::array_value_to_string(count[0].column(0), 0).unwrap();
    assert_eq!(n, "100");
    let err = match ctx.sql("INSERT INTO t VALUES (1000, 'x')").await {
        Ok(df) => df.collect().await.unwrap_err().to_string(),
        Err(err) => err.to_string(),
    };
    assert!(err.contains("vacuumProtocolCheck"), "{err}");
    let commits = std::fs::read_dir(table.join("_delta_log")).unwrap().count();
    assert_eq!(commits, 2, "the refused write committed nothing");
}

/// Filters and projections on a table mapped by id find the columns of a
/// file that names them differently by field id, also when the filters are
/// evaluated inside the Parquet reader and prune row groups.
#[tokio::test]
async fn filters_on_a_table_mapped_by_id_use_field_ids() {
    let table = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/delta-extra/column-mapping-id-file-names-differ/delta");
    for pushdown in ["false", "true"] {
        let ctx = lakefed::new_session_context();
        ctx.sql(&format!(
            "SET datafusion.execution.parquet.pushdown_filters = {pushdown}"
        ))
        .await
        .unwrap();
        ctx.register_delta("t", &table.to_string_lossy())
            .await
            .unwrap();
        let rows = ctx
            .sql(
                "SELECT label, amount FROM t \
                 WHERE id >= 3 AND (amount > 1000 OR label = 'c') ORDER BY id",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let schema = rows[0].schema();
        assert_eq!(
            rows_as_text(&rows, &schema).unwrap(),
            ["c | NULL", "d | 99999999.99"],
            "pushdown_filters = {pushdown}"
        );
    }
}

/// Time travel to a version that log clean-up removed says so; the table
/// itself is still read at later versions.
#[tokio::test(flavor = "multi_thread")]
async fn a_version_removed_by_log_clean_up_is_a_clear_error() {
    let table = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/delta-extra/history-starts-at-checkpoint/delta");
    let table = table.to_string_lossy();
    let ctx = lakefed::new_session_context();
    let err = match ctx
        .sql(&format!("SELECT * FROM delta_scan('{table}', 2)"))
        .await
    {
        Ok(df) => df.collect().await.unwrap_err(),
        Err(err) => err,
    };
    assert!(
        err.to_string()
            .contains("can no longer be read at version 2: log clean-up removed"),
        "{err}"
    );
    let at_checkpoint = ctx
        .sql(&format!("SELECT count(*) FROM delta_scan('{table}', 5)"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(at_checkpoint.is_ok(), "{at_checkpoint:?}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

//! Runs [sqllogictest](https://www.sqlite.org/sqllogictest/doc/trunk/about.wiki)
//! (`.slt`) files against a lakefed session: the runner of `lakefed slt` and
//! of lakefed's own suites.
//!
//! Results are compared as text: `NULL` for a null, `(empty)` for an empty
//! string, a newline inside a cell as `\n`; `EXPLAIN` output has one row per
//! plan line, with the UUIDs of Delta file names shown as `<uuid>`. A
//! statement that writes (`INSERT`, `CREATE TABLE AS`) completes with the
//! count of rows it wrote. `onlyif lakefed` / `skipif lakefed` match every
//! run; [`SltOptions::labels`] adds labels of its own.
//!
//! ```no_run
//! use std::path::Path;
//! use lakefed::slt::{SltOptions, run_file};
//!
//! # async fn example() -> Result<(), lakefed::slt::SltFailure> {
//! let mut options = SltOptions::default();
//! options.labels.push("delta".to_string());
//! run_file(lakefed::new_session_context(), Path::new("suite/orders.slt"), &options).await?;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use datafusion::arrow::array::{Array, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};

/// How [`run_file`] runs a file.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SltOptions {
    /// Labels that `onlyif`/`skipif` records match, besides `lakefed`.
    pub labels: Vec<String>,
    /// Values of `${NAME}` in the file's SQL, after `control substitution on`
    /// (environment variables are substituted too).
    pub variables: BTreeMap<String, String>,
    /// Rewrite the file's expected results from what the session returns,
    /// instead of checking them.
    pub complete: bool,
}

/// Why a `.slt` file did not pass: the record that failed, where it is, and
/// what was expected and returned; or why the file could not be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SltFailure(String);

impl std::fmt::Display for SltFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SltFailure {}

/// Runs the `.slt` file `file` against `ctx` (or, with
/// [`SltOptions::complete`], rewrites its expected results).
pub async fn run_file(
    ctx: SessionContext,
    file: &Path,
    options: &SltOptions,
) -> Result<(), SltFailure> {
    let ctx = Arc::new(ctx);
    let mut runner = Runner::new(move || {
        let ctx = Arc::clone(&ctx);
        async move { Ok(LakefedDb { ctx }) }
    });
    for label in &options.labels {
        runner.add_label(label);
    }
    for (name, value) in &options.variables {
        runner.set_var(name.clone(), value.clone());
    }
    if options.complete {
        runner
            .update_test_file(
                file,
                " ",
                sqllogictest::default_validator,
                sqllogictest::default_normalizer,
                sqllogictest::default_column_validator,
            )
            .await
            .map_err(|err| SltFailure(err.to_string()))
    } else {
        runner
            .run_file_async(file)
            .await
            .map_err(|err| SltFailure(err.display(false).to_string()))
    }
}

/// The `.slt` files of `paths`, sorted: a file as given, a directory's
/// `.slt` files at any depth. A path that does not exist is an error.
pub fn find_slt_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect_slt_files(path, &mut files)?;
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("'{}': no such file or directory", path.display()),
            ));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn collect_slt_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_slt_files(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "slt") {
            files.push(path);
        }
    }
    Ok(())
}

/// A lakefed session seen by the sqllogictest runner.
struct LakefedDb {
    ctx: Arc<SessionContext>,
}

#[async_trait]
impl AsyncDB for LakefedDb {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let df = self.ctx.sql(sql).await?;
        let schema = df.schema().inner().clone();
        let batches = df.collect().await?;
        let is_write_count =
            schema.fields().len() == 1 && schema.field(0).name() == "count" && is_write(sql);
        if schema.fields().is_empty() || is_write_count {
            return Ok(DBOutput::StatementComplete(count_rows(&batches)));
        }
        let types = schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let mut rows = Vec::new();
        for batch in &batches {
            rows.extend(format_rows(batch)?);
        }
        if sql.trim_start().to_ascii_uppercase().starts_with("EXPLAIN") {
            rows = split_plan_lines(rows);
        } else {
            // A cell must stay on one line of the `.slt` file.
            for cell in rows.iter_mut().flatten() {
                *cell = cell.replace('\n', "\\n");
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "lakefed"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

/// Whether `sql` writes rows, answering with their count.
fn is_write(sql: &str) -> bool {
    let upper = sql.trim_start().to_ascii_uppercase();
    upper.starts_with("INSERT") || upper.starts_with("CREATE")
}

/// The rows a write reports in its one `count` column.
fn count_rows(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .filter(|batch| batch.num_columns() == 1)
        .filter_map(|batch| batch.column(0).as_any().downcast_ref::<UInt64Array>())
        .map(|counts| counts.values().iter().sum::<u64>())
        .sum()
}

fn column_type(data_type: &DataType) -> DefaultColumnType {
    match data_type {
        t if t.is_integer() => DefaultColumnType::Integer,
        t if t.is_floating() => DefaultColumnType::FloatingPoint,
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => DefaultColumnType::FloatingPoint,
        _ => DefaultColumnType::Text,
    }
}

/// Cells as text: `NULL` for nulls, `(empty)` for empty strings.
fn format_rows(batch: &RecordBatch) -> Result<Vec<Vec<String>>, DataFusionError> {
    let options = FormatOptions::default().with_null("NULL");
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..batch.num_rows())
        .map(|row| {
            formatters
                .iter()
                .zip(batch.columns())
                .map(|(f, column)| {
                    let text = f.value(row).to_string();
                    if text.is_empty() && !column.is_null(row) {
                        "(empty)".to_string()
                    } else {
                        text
                    }
                })
                .collect()
        })
        .collect())
}

/// One output row per line of plan text, as DataFusion's own suites show plans.
fn split_plan_lines(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    // Delta file names carry a UUID, new whenever a table is written.
    static UUID: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
            .expect("a valid pattern")
    });
    let mut out = Vec::new();
    for row in rows {
        if let [kind, plan] = row.as_slice() {
            for line in plan.lines() {
                let line = UUID.replace_all(line.trim(), "<uuid>");
                out.push(vec![kind.clone(), line.into_owned()]);
            }
        } else {
            out.push(row);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_have_one_row_per_line_without_file_uuids() {
        let rows = vec![vec![
            "physical_plan".to_string(),
            "  A\n    B part-0-0123abcd-0000-4000-8000-00000000abcd.parquet".to_string(),
        ]];
        assert_eq!(
            split_plan_lines(rows),
            vec![
                vec!["physical_plan".to_string(), "A".to_string()],
                vec![
                    "physical_plan".to_string(),
                    "B part-0-<uuid>.parquet".to_string()
                ],
            ]
        );
    }

    #[test]
    fn a_missing_path_is_an_error_naming_it() {
        let err = find_slt_files(&[PathBuf::from("/nonexistent/suite")]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/suite"), "{err}");
    }
}

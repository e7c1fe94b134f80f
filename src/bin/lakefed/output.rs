//! Running a query and writing its result: an aligned table, CSV with a header
//! and ISO-8601 timestamps, JSON lines, or a Parquet file.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringBuilder};
use datafusion::arrow::csv;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::error::{DataFusionError, Result};
use futures::StreamExt;

use crate::json_lines::JsonLines;
use crate::progress::Progress;

/// How a result is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per row (JSON lines), with every column.
    Json,
    /// The text of a plan (EXPLAIN output), printed as is.
    #[value(skip)]
    Plan,
}

/// Rows printed per table chunk, so a long result starts printing early.
const TABLE_CHUNK_ROWS: usize = 1000;

/// Runs `df` and writes its rows to stdout (or to `parquet` if given).
/// Ctrl-C cancels the query, which drops the stream and stops every scan.
pub async fn run_query(df: DataFrame, format: Format, parquet: Option<&Path>) -> Result<ExitCode> {
    tokio::select! {
        result = write_result(df, format, parquet) => result.map(|()| ExitCode::SUCCESS),
        _ = tokio::signal::ctrl_c() => {
            eprintln!("query cancelled");
            Ok(ExitCode::from(130))
        }
    }
}

async fn write_result(df: DataFrame, format: Format, parquet: Option<&Path>) -> Result<()> {
    if let Some(path) = parquet {
        let path = path.to_str().ok_or_else(|| {
            DataFusionError::Plan(format!("output path {} is not valid UTF-8", path.display()))
        })?;
        let options = DataFrameWriteOptions::new().with_single_file_output(true);
        df.write_parquet(path, options, None).await?;
        return Ok(());
    }
    if df.schema().fields().is_empty() {
        // DDL (CREATE TABLE AS, SET, ...) returns no columns: nothing to print.
        df.collect().await?;
        return Ok(());
    }
    let mut stream = df.execute_stream().await?;
    let mut progress = Progress::start();
    let stdout = std::io::stdout();
    let mut sink = Sink::new(format, std::io::BufWriter::new(stdout.lock()));
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        progress.add(&batch);
        progress.suspend(|| sink.write(&batch))?;
    }
    progress.finish();
    sink.finish(stream.schema().as_ref())
}

/// Writes batches in one format.
enum Sink<W: Write> {
    /// Aligned tables (or plan text), printed in chunks of rows.
    Table {
        out: W,
        pending: Vec<RecordBatch>,
        pending_rows: usize,
        printed_rows: usize,
        plan: bool,
    },
    Csv {
        writer: Box<csv::Writer<W>>,
        wrote_header: bool,
    },
    Json(JsonLines<W>),
}

impl<W: Write> Sink<W> {
    fn new(format: Format, out: W) -> Self {
        match format {
            Format::Table | Format::Plan => Sink::Table {
                out,
                pending: Vec::new(),
                pending_rows: 0,
                printed_rows: 0,
                plan: format == Format::Plan,
            },
            Format::Csv => Sink::Csv {
                writer: Box::new(
                    csv::WriterBuilder::new()
                        .with_header(true)
                        .with_timestamp_format("%Y-%m-%dT%H:%M:%S%.f".to_string())
                        .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%S%.f%:z".to_string())
                        .with_date_format("%Y-%m-%d".to_string())
                        .build(out),
                ),
                wrote_header: false,
            },
            Format::Json => Sink::Json(JsonLines::new(out)),
        }
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            Sink::Table {
                pending,
                pending_rows,
                ..
            } => {
                *pending_rows += batch.num_rows();
                pending.push(batch.clone());
                if *pending_rows >= TABLE_CHUNK_ROWS {
                    self.flush_table()?;
                }
            }
            Sink::Csv {
                writer,
                wrote_header,
            } => {
                writer.write(&nested_as_text(batch)?)?;
                *wrote_header = true;
            }
            Sink::Json(writer) => writer.write(batch)?,
        }
        Ok(())
    }

    fn flush_table(&mut self) -> Result<()> {
        if let Sink::Table {
            out,
            pending,
            pending_rows,
            printed_rows,
            plan,
        } = self
            && !pending.is_empty()
        {
            let text = if *plan {
                plan_text(pending)?
            } else {
                pretty_format_batches(pending)?.to_string()
            };
            writeln!(out, "{text}")?;
            *printed_rows += *pending_rows;
            pending.clear();
            *pending_rows = 0;
        }
        Ok(())
    }

    fn finish(mut self, schema: &Schema) -> Result<()> {
        self.flush_table()?;
        let empty = RecordBatch::new_empty(Arc::new(schema.clone()));
        match self {
            Sink::Table {
                mut out,
                printed_rows,
                plan,
                ..
            } => {
                if printed_rows == 0 && !plan {
                    writeln!(out, "{}", pretty_format_batches(&[empty])?)?;
                }
                if !plan {
                    let noun = if printed_rows == 1 { "row" } else { "rows" };
                    writeln!(out, "{printed_rows} {noun}")?;
                }
                out.flush()?;
            }
            Sink::Csv {
                mut writer,
                wrote_header,
            } => {
                if !wrote_header {
                    writer.write(&nested_as_text(&empty)?)?;
                }
                writer.into_inner().flush()?;
            }
            Sink::Json(writer) => writer.finish()?.flush()?,
        }
        Ok(())
    }
}

/// EXPLAIN output as plain text: plan type, then the plan, for each row.
fn plan_text(batches: &[RecordBatch]) -> Result<String> {
    let mut text = String::new();
    for batch in batches {
        let columns: Vec<_> = batch.columns().iter().map(Arc::clone).collect();
        let formatters = columns
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            if let [kind, plan] = formatters.as_slice() {
                text.push_str(&format!("== {} ==\n{}\n", kind.value(row), plan.value(row)));
            }
        }
    }
    Ok(text)
}

/// CSV has no nested values: struct, list and map columns are written as text.
fn nested_as_text(batch: &RecordBatch) -> Result<RecordBatch> {
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| f.data_type().is_nested())
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.data_type().is_nested() {
            let formatter = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())?;
            let mut text = StringBuilder::new();
            for row in 0..column.len() {
                if column.is_null(row) {
                    text.append_null();
                } else {
                    text.append_value(formatter.value(row).to_string());
                }
            }
            fields.push(Field::new(field.name(), DataType::Utf8, true));
            columns.push(Arc::new(text.finish()));
        } else {
            fields.push(field.as_ref().clone());
            columns.push(Arc::clone(column));
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

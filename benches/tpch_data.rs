//! TPC-H tables as Delta tables, generated offline with `tpchgen-arrow`, and
//! the benchmark queries (`benches/queries/*.sql`, shared with the peer
//! comparison script).

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::error::ArrowError;
use lakefed::sources::delta::{SaveMode, StorageOptions, write_batches};
use tpchgen::generators::{CustomerGenerator, LineItemGenerator, OrderGenerator};
use tpchgen_arrow::{CustomerArrow, LineItemArrow, OrderArrow};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The tables the queries read.
pub const TABLES: &[&str] = &["customer", "orders", "lineitem"];

/// The benchmark queries, by name.
pub const QUERIES: &[(&str, &str)] = &[
    ("q1", include_str!("queries/q1.sql")),
    ("q3", include_str!("queries/q3.sql")),
    ("q6", include_str!("queries/q6.sql")),
];

/// Rows per generated batch; also bounds the rows per commit.
const BATCH_ROWS: usize = 1_000_000;

/// Writes the TPC-H tables at scale factor `sf` under `dir`, unless present.
pub async fn generate(sf: f64, dir: &Path) -> Result<(), BoxError> {
    for table in TABLES {
        let location = dir.join(table);
        if location.join("_delta_log").exists() {
            continue;
        }
        let batches: Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>>> = match *table {
            "customer" => Box::new(
                CustomerArrow::new(CustomerGenerator::new(sf, 1, 1)).with_batch_size(BATCH_ROWS),
            ),
            "orders" => {
                Box::new(OrderArrow::new(OrderGenerator::new(sf, 1, 1)).with_batch_size(BATCH_ROWS))
            }
            _ => Box::new(
                LineItemArrow::new(LineItemGenerator::new(sf, 1, 1)).with_batch_size(BATCH_ROWS),
            ),
        };
        let location = location.to_string_lossy();
        for batch in batches {
            let batch = without_views(&batch?)?;
            write_batches(
                &location,
                &StorageOptions::default(),
                vec![batch],
                &[],
                SaveMode::Append,
            )
            .await?;
        }
    }
    Ok(())
}

/// Plain `Utf8` instead of `Utf8View`, the string type every Delta reader takes.
fn without_views(batch: &RecordBatch) -> Result<RecordBatch, BoxError> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.data_type() == &DataType::Utf8View {
            fields.push(Field::new(
                field.name(),
                DataType::Utf8,
                field.is_nullable(),
            ));
            columns.push(cast(column, &DataType::Utf8)?);
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

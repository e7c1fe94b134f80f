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
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The eight TPC-H tables.
pub const TABLES: &[&str] = &[
    "nation", "region", "part", "supplier", "partsupp", "customer", "orders", "lineitem",
];

/// The 22 TPC-H queries (with the specification's validation parameters), by name.
pub const QUERIES: &[(&str, &str)] = &[
    ("q1", include_str!("queries/q1.sql")),
    ("q2", include_str!("queries/q2.sql")),
    ("q3", include_str!("queries/q3.sql")),
    ("q4", include_str!("queries/q4.sql")),
    ("q5", include_str!("queries/q5.sql")),
    ("q6", include_str!("queries/q6.sql")),
    ("q7", include_str!("queries/q7.sql")),
    ("q8", include_str!("queries/q8.sql")),
    ("q9", include_str!("queries/q9.sql")),
    ("q10", include_str!("queries/q10.sql")),
    ("q11", include_str!("queries/q11.sql")),
    ("q12", include_str!("queries/q12.sql")),
    ("q13", include_str!("queries/q13.sql")),
    ("q14", include_str!("queries/q14.sql")),
    ("q15", include_str!("queries/q15.sql")),
    ("q16", include_str!("queries/q16.sql")),
    ("q17", include_str!("queries/q17.sql")),
    ("q18", include_str!("queries/q18.sql")),
    ("q19", include_str!("queries/q19.sql")),
    ("q20", include_str!("queries/q20.sql")),
    ("q21", include_str!("queries/q21.sql")),
    ("q22", include_str!("queries/q22.sql")),
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
        let batches = table_batches(table, sf);
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

/// The rows of TPC-H table `table` at scale factor `sf`, in batches.
fn table_batches(
    table: &str,
    sf: f64,
) -> Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>>> {
    match table {
        "nation" => Box::new(NationArrow::new(NationGenerator::new(sf, 1, 1))),
        "region" => Box::new(RegionArrow::new(RegionGenerator::new(sf, 1, 1))),
        "part" => {
            Box::new(PartArrow::new(PartGenerator::new(sf, 1, 1)).with_batch_size(BATCH_ROWS))
        }
        "supplier" => Box::new(
            SupplierArrow::new(SupplierGenerator::new(sf, 1, 1)).with_batch_size(BATCH_ROWS),
        ),
        "partsupp" => Box::new(
            PartSuppArrow::new(PartSuppGenerator::new(sf, 1, 1)).with_batch_size(BATCH_ROWS),
        ),
        "customer" => Box::new(
            CustomerArrow::new(CustomerGenerator::new(sf, 1, 1)).with_batch_size(BATCH_ROWS),
        ),
        "orders" => {
            Box::new(OrderArrow::new(OrderGenerator::new(sf, 1, 1)).with_batch_size(BATCH_ROWS))
        }
        _ => Box::new(
            LineItemArrow::new(LineItemGenerator::new(sf, 1, 1)).with_batch_size(BATCH_ROWS),
        ),
    }
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

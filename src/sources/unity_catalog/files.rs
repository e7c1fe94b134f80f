//! Unity Catalog tables of Parquet or JSON files, read straight from their
//! `storage_location` with DataFusion's listing tables through the table's
//! own store (its credentials vended by the catalog).
//!
//! A file table is read as Spark reads it, or not at all:
//! - the files are the table directory's own, as Spark lists them: names
//!   starting with `.`, or with `_` and holding no `=` (`_SUCCESS`, `.crc`
//!   checksums) are not data; any other object (a compressed
//!   `part-0.json.gz`, a subdirectory) is an error naming it, never a file
//!   silently left out, and so are Databricks' transactional commit markers
//!   (`_started_<id>`, `_committed_<id>`), which lakefed does not honour;
//! - the columns are the catalog's. Parquet files carry their types: a file
//!   column of a type Spark would not read as the table's, or named as a
//!   table column only up to case (Spark ignores case, DataFusion does not),
//!   is an error; INT96 timestamps (Spark's default) are UTC instants. JSON
//!   text is parsed by arrow's reader, which accepts numbers and dates Spark
//!   reads as NULL: only boolean and string columns are read from JSON;
//! - CHAR(n) columns (Spark pads them on read) and partitioned file tables
//!   are answered by compute so far, and so are CSV tables: arrow's CSV
//!   reader and Spark's differ on NULLs, numbers and dates.
//!
//! Every scan lists the directory again, so files written since are read.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::TableReference;
use datafusion::common::config::TableParquetOptions;
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::cache::TableScopedPath;
use datafusion::execution::cache::cache_manager::CachedFileList;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStore};
use url::Url;

use super::api::TableInfo;
use crate::error::{Error, Result};
use crate::remote::sql::CHAR_LENGTH_KEY;
use crate::sources::delta::{own_authority, redact};

/// The formats of file tables lakefed reads from storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Parquet,
    /// One JSON object per line.
    Json,
}

impl FileKind {
    /// The kind of a `data_source_format`, if lakefed reads it as files.
    pub(crate) fn of(data_source_format: &str) -> Option<Self> {
        match data_source_format {
            "PARQUET" => Some(Self::Parquet),
            "JSON" => Some(Self::Json),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Parquet => "PARQUET",
            Self::Json => "JSON",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Parquet => ".parquet",
            Self::Json => ".json",
        }
    }

    fn format(self) -> Arc<dyn FileFormat> {
        match self {
            Self::Parquet => {
                let mut options = TableParquetOptions::default();
                options.global.coerce_int96 = Some("us".to_string());
                options.global.coerce_int96_tz = Some("UTC".to_string());
                // Types as the files declare them, for `check_parquet_types`.
                options.global.schema_force_view_types = false;
                Arc::new(ParquetFormat::default().with_options(options))
            }
            Self::Json => Arc::new(JsonFormat::default()),
        }
    }

    /// Whether a column of `data_type` is read from this format's files
    /// exactly as Spark reads it. Parquet files carry their types (checked
    /// against the table's at every scan). arrow's JSON reader takes
    /// `1.9` for an integer 1, quoted numbers, and dates with a time zone
    /// moved to UTC, where Spark reads NULL: only booleans and strings.
    fn reads_exactly(self, data_type: &DataType) -> bool {
        match self {
            Self::Parquet => true,
            Self::Json => matches!(data_type, DataType::Boolean | DataType::Utf8),
        }
    }
}

/// Why the file table `info` describes cannot be read exactly from storage,
/// if it cannot.
pub(crate) fn not_readable(kind: FileKind, info: &TableInfo) -> Option<String> {
    if let Some(column) = info.columns.iter().find(|c| c.partition_index.is_some()) {
        return Some(format!(
            "it is a {} table partitioned by column '{}'; lakefed reads only unpartitioned \
             file tables from storage so far",
            kind.name(),
            column.name
        ));
    }
    let schema = match info.schema() {
        Ok(schema) => schema,
        Err(err) => return Some(err.to_string()),
    };
    if let Some(char) = schema
        .fields()
        .iter()
        .find(|field| field.metadata().contains_key(CHAR_LENGTH_KEY))
    {
        return Some(format!(
            "its column '{}' is a CHAR column, which Spark pads on read; lakefed reads no \
             CHAR columns of file tables from storage so far",
            char.name()
        ));
    }
    let inexact = schema
        .fields()
        .iter()
        .find(|field| !kind.reads_exactly(field.data_type()))?;
    Some(format!(
        "its column '{}' is of type {} in {} files, which lakefed does not read exactly as \
         Spark does",
        inexact.name(),
        inexact.data_type(),
        kind.name()
    ))
}

/// A Unity Catalog file table, read through a store of its own.
#[derive(Debug)]
pub(crate) struct FileTable {
    kind: FileKind,
    listing: ListingTable,
    /// Where the files are, for messages.
    location: String,
    /// The table's directory, as listed by its store.
    directory: object_store::path::Path,
    /// The address the store is registered under in a querying session.
    store_url: Url,
    store: Arc<dyn ObjectStore>,
}

impl FileTable {
    /// The table `info` describes, stored at `url` (a directory) in `store`,
    /// a store rooted at `url`'s bucket that serves this table only; `key`
    /// names that store (see [`own_authority`]).
    pub(crate) fn try_new(
        kind: FileKind,
        info: &TableInfo,
        url: &Url,
        store: Arc<dyn ObjectStore>,
        key: &str,
    ) -> Result<Self> {
        let location = redact(url);
        let mut own = own_authority(url, key)?;
        if !own.path().ends_with('/') {
            own.set_path(&format!("{}/", own.path()));
        }
        let table_url = ListingTableUrl::parse(own.as_str())
            .map_err(|err| listing_error(&location, err))?
            .with_table_ref(TableReference::bare(key));
        let directory = table_url.prefix().clone();
        let options = ListingOptions::new(kind.format()).with_file_extension(kind.extension());
        let config = ListingTableConfig::new(table_url)
            .with_listing_options(options)
            .with_schema(info.schema()?);
        let listing = ListingTable::try_new(config).map_err(|err| listing_error(&location, err))?;
        let mut store_url = own;
        store_url.set_path("/");
        Ok(Self {
            kind,
            listing,
            location,
            directory,
            store_url,
            store,
        })
    }

    /// The table's data files, listed now: an object Spark would read
    /// that is not one of them is an error.
    async fn files(&self) -> DfResult<Vec<ObjectMeta>> {
        let objects: Vec<_> = self.store.list(Some(&self.directory)).try_collect().await?;
        let mut files = Vec::with_capacity(objects.len());
        for object in objects {
            let Some(relative) = object.location.prefix_match(&self.directory) else {
                continue;
            };
            let parts: Vec<String> = relative.map(|part| part.as_ref().to_string()).collect();
            let relative = parts.join("/");
            if relative.starts_with("_started_") || relative.starts_with("_committed_") {
                return Err(self.unreadable(format!(
                    "holds '{relative}', a Databricks transactional commit marker, which \
                     lakefed does not honour"
                )));
            }
            // An empty name is the directory's own marker object.
            if parts.is_empty() || parts.iter().any(|part| is_hidden(part)) {
                continue;
            }
            if parts.len() != 1 || !relative.ends_with(self.kind.extension()) {
                return Err(self.unreadable(format!(
                    "holds '{relative}', which is not a {} file lakefed reads (compressed \
                     and nested files are not read from storage yet)",
                    self.kind.extension()
                )));
            }
            files.push(object);
        }
        Ok(files)
    }

    /// Whether Spark reads the columns of `files` as the table's: an error
    /// saying which column it would not.
    async fn check_parquet_types(&self, state: &dyn Session, files: &[ObjectMeta]) -> DfResult<()> {
        if files.is_empty() {
            return Ok(());
        }
        let format = &self.listing.options().format;
        let file_schema = format.infer_schema(state, &self.store, files).await?;
        for field in self.listing.schema().fields() {
            let problem = match file_schema.field_with_name(field.name()) {
                Ok(file) if spark_reads_as(file.data_type(), field.data_type()) => continue,
                Ok(file) => format!(
                    "holds column '{}' as {} in its files, which Spark does not read as the \
                     table's {}",
                    field.name(),
                    file.data_type(),
                    field.data_type()
                ),
                Err(_) => match file_schema
                    .fields()
                    .iter()
                    .find(|file| file.name().eq_ignore_ascii_case(field.name()))
                {
                    Some(file) => format!(
                        "names column '{}' '{}' in its files: Spark matches names ignoring \
                         case, lakefed does not",
                        field.name(),
                        file.name()
                    ),
                    // Absent from every file: NULL, as Spark reads it.
                    None => continue,
                },
            };
            return Err(self.unreadable(problem));
        }
        Ok(())
    }

    fn unreadable(&self, problem: String) -> DataFusionError {
        DataFusionError::External(Box::new(Error::InvalidArgument(format!(
            "{} table at '{}' {problem}",
            self.kind.name(),
            self.location
        ))))
    }
}

/// Whether Spark lists an object of this name as no data: hidden names,
/// and `_`-names that are not `key=value` partition directories.
fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || (name.starts_with('_') && !name.contains('='))
}

/// Whether Spark reads a Parquet column of type `file` as a table column
/// of type `table`: the same type, or one of the widenings its reader
/// makes (integers, float to double, decimals keeping every digit,
/// timestamps to microseconds).
fn spark_reads_as(file: &DataType, table: &DataType) -> bool {
    use DataType::{
        Binary, Decimal128, Float32, Float64, Int8, Int16, Int32, Int64, LargeBinary, LargeUtf8,
        Timestamp, Utf8,
    };
    use datafusion::arrow::datatypes::TimeUnit::{Microsecond, Millisecond};
    let file = match file {
        LargeUtf8 => &Utf8,
        LargeBinary => &Binary,
        other => other,
    };
    file.equals_datatype(table)
        || match (file, table) {
            (Int8, Int16 | Int32 | Int64) | (Int16, Int32 | Int64) | (Int32, Int64) => true,
            (Float32, Float64) => true,
            (Decimal128(p1, s1), Decimal128(p2, s2)) => {
                s2 >= s1 && i16::from(*p2) - i16::from(*s2) >= i16::from(*p1) - i16::from(*s1)
            }
            (Timestamp(Millisecond | Microsecond, from), Timestamp(Microsecond, to)) => {
                from.is_some() == to.is_some()
            }
            _ => false,
        }
}

fn listing_error(location: &str, err: DataFusionError) -> Error {
    Error::Storage {
        location: location.to_string(),
        message: err.to_string(),
    }
}

#[async_trait]
impl TableProvider for FileTable {
    fn schema(&self) -> SchemaRef {
        self.listing.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        self.listing.supports_filters_pushdown(filters)
    }

    /// Registers the table's store in the session, lists the table's files
    /// and hands that listing to the listing table through the session's
    /// list-files cache (so the directory is listed once per scan).
    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let runtime = state.runtime_env();
        runtime.register_object_store(&self.store_url, Arc::clone(&self.store));
        let files = self.files().await?;
        if self.kind == FileKind::Parquet {
            self.check_parquet_types(state, &files).await?;
        }
        if let Some(cache) = runtime.cache_manager.get_list_files_cache() {
            let table_url = &self.listing.table_paths()[0];
            let key = TableScopedPath {
                table: table_url.get_table_ref().clone(),
                path: self.directory.clone(),
            };
            // The cache keeps no empty listing: the table lists nothing then.
            if files.is_empty() {
                cache.remove(&key);
            } else {
                cache.put(&key, CachedFileList::new(files));
            }
        }
        self.listing.scan(state, projection, filters, limit).await
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;
    use object_store::path::Path;
    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;
    use crate::sources::unity_catalog::api::ColumnInfo;

    async fn table_in(objects: &[&str]) -> FileTable {
        let store = Arc::new(InMemory::new());
        for object in objects {
            let payload = PutPayload::from_static(b"1\n");
            store.put(&Path::from(*object), payload).await.unwrap();
        }
        let info = TableInfo {
            name: "t".to_string(),
            columns: vec![ColumnInfo {
                name: "id".to_string(),
                type_text: Some("bigint".to_string()),
                ..ColumnInfo::default()
            }],
            ..TableInfo::default()
        };
        let url = Url::parse("s3://bucket/tables/t").unwrap();
        FileTable::try_new(FileKind::Json, &info, &url, store, "tkey").unwrap()
    }

    #[tokio::test]
    async fn hidden_objects_are_not_data_and_other_objects_are_errors() {
        let table = table_in(&[
            "tables/t/",
            "tables/t/_SUCCESS",
            "tables/t/.part-0.json.crc",
            "tables/t/_temporary/0/part-9.json",
            "tables/t/part-0.json",
            "tables/t/_a=1.json",
            "tables/t2/part-0.json",
        ])
        .await;
        let files = table.files().await.unwrap();
        let names: Vec<_> = files.iter().map(|f| f.location.to_string()).collect();
        assert_eq!(names, ["tables/t/_a=1.json", "tables/t/part-0.json"]);
        assert_eq!(table.store_url.as_str(), "s3://tkey.bucket/");

        for unexpected in [
            "tables/t/part-1.json.gz",
            "tables/t/day=1/part-0.json",
            "tables/t/_committed_1234",
        ] {
            let table = table_in(&["tables/t/part-0.json", unexpected]).await;
            let err = table.files().await.unwrap_err().to_string();
            let relative = unexpected.strip_prefix("tables/t/").unwrap();
            assert!(err.contains(&format!("holds '{relative}'")), "{err}");
        }
    }

    #[test]
    fn parquet_columns_are_read_only_as_spark_widens_them() {
        use datafusion::arrow::datatypes::TimeUnit;
        let utc = || Some("UTC".into());
        for (file, table) in [
            (DataType::Int32, DataType::Int64),
            (DataType::Float32, DataType::Float64),
            (DataType::LargeUtf8, DataType::Utf8),
            (DataType::Decimal128(5, 2), DataType::Decimal128(10, 4)),
            (
                DataType::Timestamp(TimeUnit::Millisecond, utc()),
                DataType::Timestamp(TimeUnit::Microsecond, utc()),
            ),
        ] {
            assert!(spark_reads_as(&file, &table), "{file} as {table}");
        }
        for (file, table) in [
            (DataType::Float64, DataType::Int64),
            (DataType::Int64, DataType::Int32),
            (DataType::Int64, DataType::Float64),
            (DataType::Decimal128(12, 4), DataType::Decimal128(10, 2)),
            (DataType::Utf8, DataType::Int32),
            (DataType::Binary, DataType::Utf8),
            (
                DataType::Timestamp(TimeUnit::Nanosecond, utc()),
                DataType::Timestamp(TimeUnit::Microsecond, utc()),
            ),
            (
                DataType::Timestamp(TimeUnit::Microsecond, None),
                DataType::Timestamp(TimeUnit::Microsecond, utc()),
            ),
        ] {
            assert!(!spark_reads_as(&file, &table), "{file} as {table}");
        }
    }
}

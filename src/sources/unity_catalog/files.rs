//! Unity Catalog tables of Parquet, CSV or JSON files, read straight from
//! their `storage_location` with DataFusion's listing tables through the
//! table's own store (its credentials vended by the catalog).
//!
//! A file table is read as Spark reads it, or not at all:
//! - the files are the table directory's own, as Spark lists them: names
//!   starting with `_` or `.` (`_SUCCESS`, `.crc` checksums) are not data;
//!   any other object (a compressed `part-0.csv.gz`, a subdirectory) is an
//!   error naming it, never a file silently left out;
//! - the columns are the catalog's; CSV and JSON columns only of the types
//!   whose text DataFusion parses exactly as Spark does ([`FileKind`]);
//!   Parquet INT96 timestamps (Spark's default) are read as UTC instants;
//! - partitioned file tables are answered by compute so far.
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
use datafusion::datasource::file_format::csv::CsvFormat;
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
use object_store::ObjectStore;
use url::Url;

use super::api::TableInfo;
use crate::error::{Error, Result};
use crate::sources::delta::{own_authority, redact};

/// The formats of file tables lakefed reads from storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Parquet,
    /// Spark's defaults: no header, `,` between fields.
    Csv,
    /// One JSON object per line.
    Json,
}

impl FileKind {
    /// The kind of a `data_source_format`, if lakefed reads it as files.
    pub(crate) fn of(data_source_format: &str) -> Option<Self> {
        match data_source_format {
            "PARQUET" => Some(Self::Parquet),
            "CSV" => Some(Self::Csv),
            "JSON" => Some(Self::Json),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Parquet => "PARQUET",
            Self::Csv => "CSV",
            Self::Json => "JSON",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Parquet => ".parquet",
            Self::Csv => ".csv",
            Self::Json => ".json",
        }
    }

    fn format(self) -> Arc<dyn FileFormat> {
        match self {
            Self::Parquet => {
                let mut options = TableParquetOptions::default();
                options.global.coerce_int96 = Some("us".to_string());
                options.global.coerce_int96_tz = Some("UTC".to_string());
                Arc::new(ParquetFormat::default().with_options(options))
            }
            Self::Csv => Arc::new(
                CsvFormat::default()
                    .with_has_header(false)
                    .with_delimiter(b','),
            ),
            Self::Json => Arc::new(JsonFormat::default()),
        }
    }

    /// Whether a column of `data_type` is read from this format's files
    /// exactly as Spark reads it. Parquet files carry their types. CSV
    /// text has no NULL apart from an empty string (so no string column)
    /// and its timestamps depend on reader options; JSON keeps strings
    /// apart from NULL, but not timestamps, binary or nested values.
    fn reads_exactly(self, data_type: &DataType) -> bool {
        let plain = data_type.is_integer()
            || data_type.is_floating()
            || matches!(
                data_type,
                DataType::Boolean | DataType::Decimal128(..) | DataType::Date32
            );
        match self {
            Self::Parquet => true,
            Self::Csv => plain,
            Self::Json => plain || *data_type == DataType::Utf8,
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
    async fn files(&self) -> DfResult<Vec<object_store::ObjectMeta>> {
        let objects: Vec<_> = self.store.list(Some(&self.directory)).try_collect().await?;
        let mut files = Vec::with_capacity(objects.len());
        for object in objects {
            let Some(relative) = object.location.prefix_match(&self.directory) else {
                continue;
            };
            let parts: Vec<_> = relative.collect();
            if parts
                .iter()
                .any(|part| part.as_ref().starts_with(['_', '.']))
            {
                continue;
            }
            let name = object.location.as_ref();
            if parts.len() != 1 || !name.ends_with(self.kind.extension()) {
                return Err(DataFusionError::External(Box::new(Error::InvalidArgument(
                    format!(
                        "{} table at '{}' holds '{}', which is not a {} file lakefed reads \
                         (compressed and nested files are not read from storage yet)",
                        self.kind.name(),
                        self.location,
                        parts
                            .iter()
                            .map(|part| part.as_ref())
                            .collect::<Vec<_>>()
                            .join("/"),
                        self.kind.extension()
                    ),
                ))));
            }
            files.push(object);
        }
        Ok(files)
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
        if let Some(cache) = runtime.cache_manager.get_list_files_cache() {
            let table_url = &self.listing.table_paths()[0];
            let key = TableScopedPath {
                table: table_url.get_table_ref().clone(),
                path: self.directory.clone(),
            };
            cache.put(&key, CachedFileList::new(files));
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
        FileTable::try_new(FileKind::Csv, &info, &url, store, "tkey").unwrap()
    }

    #[tokio::test]
    async fn hidden_objects_are_not_data_and_other_objects_are_errors() {
        let table = table_in(&[
            "tables/t/_SUCCESS",
            "tables/t/.part-0.csv.crc",
            "tables/t/_temporary/0/part-9.csv",
            "tables/t/part-0.csv",
            "tables/t2/part-0.csv",
        ])
        .await;
        let files = table.files().await.unwrap();
        let names: Vec<_> = files.iter().map(|f| f.location.to_string()).collect();
        assert_eq!(names, ["tables/t/part-0.csv"]);
        assert_eq!(table.store_url.as_str(), "s3://tkey.bucket/");

        for unexpected in ["tables/t/part-1.csv.gz", "tables/t/day=1/part-0.csv"] {
            let table = table_in(&["tables/t/part-0.csv", unexpected]).await;
            let err = table.files().await.unwrap_err().to_string();
            let relative = unexpected.strip_prefix("tables/t/").unwrap();
            assert!(err.contains(&format!("holds '{relative}'")), "{err}");
        }
    }
}

//! Which way a Unity Catalog table is answered: straight from storage
//! (`direct`), or by the source's compute (`compute`: a SQL warehouse or a
//! Spark session, which applies the catalog's row filters and column masks).
//!
//! Governance is never bypassed: a view, a table with a row filter or a
//! column mask is only ever answered by compute, whatever the route setting.

use serde::Deserialize;

use super::api::TableInfo;
use super::credentials::Cloud;
use super::files::{self, FileKind};

/// How the tables of a Unity Catalog source are answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Route {
    /// Delta tables whose credentials are vended are read from storage;
    /// every other table is answered by compute.
    #[default]
    Auto,
    /// Tables are read from storage; one that cannot be is an error.
    Direct,
    /// Every table is answered by compute.
    Compute,
}

/// Why a table must be answered by compute: its catalog governs what a
/// reader sees. `None` for a plain table.
pub(crate) fn governed(info: &TableInfo) -> Option<String> {
    let table_type = info.table_type.as_deref().unwrap_or("");
    if !matches!(table_type, "MANAGED" | "EXTERNAL") {
        return Some(match table_type {
            "" => "Unity Catalog gives no table type".to_string(),
            other => format!("it is a {other}"),
        });
    }
    if info.row_filter.is_some() {
        return Some("it has a row filter".to_string());
    }
    if let Some(column) = info.columns.iter().find(|column| column.mask.is_some()) {
        return Some(format!("its column '{}' has a mask", column.name));
    }
    None
}

/// Why lakefed cannot read a (plain) table from storage: its format, a
/// missing location, catalog-managed commits, or file columns it does not
/// read exactly. `None` if it can.
pub(crate) fn not_readable(info: &TableInfo) -> Option<String> {
    let format = info.data_source_format.as_deref().unwrap_or("");
    let files = FileKind::of(format);
    if format != "DELTA" && files.is_none() {
        return Some(match format {
            "" => "Unity Catalog gives no data source format".to_string(),
            "CSV" => "it is a CSV table: arrow's CSV reader and Spark's differ on NULLs, \
                      numbers and dates, so lakefed does not read CSV tables from storage"
                .to_string(),
            other => format!(
                "its format is {other}; lakefed reads Delta, Parquet and JSON tables from \
                 storage"
            ),
        });
    }
    let location = info.storage_location.as_deref().unwrap_or("");
    if location.is_empty() {
        return Some("Unity Catalog gives no storage location".to_string());
    }
    let url = match url::Url::parse(location) {
        Ok(url) => url,
        Err(err) => {
            return Some(format!(
                "its storage location '{location}' is no URL: {err}"
            ));
        }
    };
    if let Err(reason) = Cloud::of(&url) {
        return Some(reason);
    }
    if info.table_id.as_deref().unwrap_or("").is_empty() {
        return Some("Unity Catalog gives no table id to vend credentials for".to_string());
    }
    match files {
        Some(kind) => files::not_readable(kind, info),
        None if info.is_catalog_managed() => Some(
            "it is a catalog-managed Delta table: its latest commits may be known only to \
             Unity Catalog, and lakefed does not read them from storage"
                .to_string(),
        ),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::unity_catalog::api::ColumnInfo;

    fn table(table_type: &str) -> TableInfo {
        TableInfo {
            name: "t".to_string(),
            table_type: Some(table_type.to_string()),
            data_source_format: Some("DELTA".to_string()),
            storage_location: Some("s3://b/t".to_string()),
            table_id: Some("id".to_string()),
            ..TableInfo::default()
        }
    }

    #[test]
    fn plain_delta_tables_are_read_from_storage() {
        for table_type in ["MANAGED", "EXTERNAL"] {
            assert_eq!(governed(&table(table_type)), None);
            assert_eq!(not_readable(&table(table_type)), None);
        }
    }

    #[test]
    fn views_filters_and_masks_are_governed() {
        assert_eq!(governed(&table("VIEW")).unwrap(), "it is a VIEW");
        let mut filtered = table("MANAGED");
        filtered.row_filter = Some(serde_json::json!({"function_name": "c.s.f"}));
        assert_eq!(governed(&filtered).unwrap(), "it has a row filter");
        let mut masked = table("EXTERNAL");
        masked.columns = vec![ColumnInfo {
            name: "email".to_string(),
            mask: Some(serde_json::json!({"function_name": "c.s.m"})),
            ..ColumnInfo::default()
        }];
        assert!(governed(&masked).unwrap().contains("'email'"));
        let mut untyped = table("MANAGED");
        untyped.table_type = None;
        assert!(governed(&untyped).is_some());
    }

    fn column(name: &str, type_text: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.to_string(),
            type_text: Some(type_text.to_string()),
            ..ColumnInfo::default()
        }
    }

    #[test]
    fn file_tables_are_read_from_storage_where_their_columns_read_exactly() {
        let mut files = table("EXTERNAL");
        files.columns = vec![column("id", "bigint"), column("name", "string")];
        files.data_source_format = Some("PARQUET".to_string());
        assert_eq!(not_readable(&files), None);
        // arrow's JSON reader takes numbers Spark reads as NULL.
        files.data_source_format = Some("JSON".to_string());
        let reason = not_readable(&files).unwrap();
        assert!(
            reason.contains("'id' is of type Int64 in JSON files"),
            "{reason}"
        );
        files.columns[0] = column("active", "boolean");
        assert_eq!(not_readable(&files), None);
        files.data_source_format = Some("CSV".to_string());
        assert!(not_readable(&files).unwrap().contains("it is a CSV table"));
        files.data_source_format = Some("PARQUET".to_string());
        files.columns[1] = column("code", "char(3)");
        assert!(
            not_readable(&files)
                .unwrap()
                .contains("'code' is a CHAR column")
        );
        files.columns[1] = column("placed", "date");
        files.columns[1].partition_index = Some(0);
        assert!(
            not_readable(&files)
                .unwrap()
                .contains("partitioned by column 'placed'")
        );
    }

    #[test]
    fn other_formats_and_catalog_managed_tables_are_not_read_directly() {
        let mut avro = table("EXTERNAL");
        avro.data_source_format = Some("AVRO".to_string());
        assert!(not_readable(&avro).unwrap().contains("its format is AVRO"));
        let mut managed = table("MANAGED");
        managed.properties.insert(
            "delta.feature.catalogManaged".to_string(),
            "supported".to_string(),
        );
        assert!(not_readable(&managed).unwrap().contains("catalog-managed"));
        let mut hdfs = table("EXTERNAL");
        hdfs.storage_location = Some("hdfs://nn/t".to_string());
        assert!(
            not_readable(&hdfs)
                .unwrap()
                .contains("stored at hdfs://nn/t")
        );
        let mut azure = table("EXTERNAL");
        azure.storage_location = Some("abfss://c@a.dfs.core.windows.net/t".to_string());
        assert_eq!(not_readable(&azure).is_none(), cfg!(feature = "azure"));
    }
}

//! `delta_scan(location [, version | timestamp])`: read any Delta table
//! without registering it, as DuckDB's `delta_scan` does.
//!
//! DataFusion's parser takes only positional arguments in a `FROM` clause, so
//! time travel is the second argument: an integer is a version
//! (`delta_scan('s3://b/t', 3)`), a string or timestamp is an instant
//! (`delta_scan('s3://b/t', '2026-01-01T00:00:00Z')`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::catalog::TableFunctionImpl;
use datafusion::common::ScalarValue;
use datafusion::datasource::TableProvider;
use datafusion::error::Result as DFResult;
use datafusion::logical_expr::Expr;

use super::storage::{StorageOptions, parse_location};
use super::table::{DeltaTableProvider, TableVersion};
use crate::background::block_on;
use crate::error::{Error, Result};

/// The `delta_scan` table function.
#[derive(Debug, Default)]
pub struct DeltaScanFunction {
    options: StorageOptions,
}

impl DeltaScanFunction {
    /// A `delta_scan` that reaches storage with `options`
    /// (unset options come from the environment).
    pub fn new(options: StorageOptions) -> Self {
        Self { options }
    }
}

const USAGE: &str = "delta_scan(location [, version | timestamp]) expects a location string, \
                     then optionally an integer version or a timestamp string";

impl TableFunctionImpl for DeltaScanFunction {
    fn call(&self, args: &[Expr]) -> DFResult<Arc<dyn TableProvider>> {
        let (location, version) = parse_args(args)?;
        let url = parse_location(&location)?;
        let table = block_on(
            "delta_scan",
            DeltaTableProvider::try_open(&url, &self.options, version),
        )??;
        Ok(Arc::new(table))
    }
}

fn parse_args(args: &[Expr]) -> Result<(String, TableVersion)> {
    let location = args
        .first()
        .and_then(literal_string)
        .ok_or_else(|| Error::InvalidArgument(USAGE.to_string()))?;
    let version = match args.get(1) {
        None => TableVersion::Latest,
        Some(Expr::Literal(value, _)) => version_from_scalar(value.clone(), USAGE)?,
        Some(_) => return Err(Error::InvalidArgument(USAGE.to_string())),
    };
    if args.len() > 2 {
        return Err(Error::InvalidArgument(USAGE.to_string()));
    }
    Ok((location, version))
}

/// The string `expr` is, if it is a string literal.
pub(super) fn literal_string(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
            _,
        ) => Some(s.clone()),
        _ => None,
    }
}

/// The version or instant a literal names: an integer is a version, a
/// string or timestamp an instant. `usage` says what was expected.
pub(super) fn version_from_scalar(value: ScalarValue, usage: &str) -> Result<TableVersion> {
    let version: i128 = match value {
        ScalarValue::Int8(Some(v)) => v.into(),
        ScalarValue::Int16(Some(v)) => v.into(),
        ScalarValue::Int32(Some(v)) => v.into(),
        ScalarValue::Int64(Some(v)) => v.into(),
        ScalarValue::UInt8(Some(v)) => v.into(),
        ScalarValue::UInt16(Some(v)) => v.into(),
        ScalarValue::UInt32(Some(v)) => v.into(),
        ScalarValue::UInt64(Some(v)) => v.into(),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => {
            return parse_timestamp(&s).map(TableVersion::Timestamp);
        }
        ScalarValue::TimestampSecond(Some(v), _) => return instant(v, 1_000_000_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => return instant(v, 1_000_000),
        ScalarValue::TimestampMicrosecond(Some(v), _) => return instant(v, 1_000),
        ScalarValue::TimestampNanosecond(Some(v), _) => return instant(v, 1),
        other => {
            return Err(Error::InvalidArgument(format!(
                "{usage}; got {other} of type {}",
                other.data_type()
            )));
        }
    };
    u64::try_from(version)
        .map(TableVersion::Version)
        .map_err(|_| invalid_version(version))
}

fn invalid_version(v: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!(
        "invalid Delta table version {v}: versions start at 0"
    ))
}

fn instant(value: i64, nanos_per_unit: i64) -> Result<TableVersion> {
    let nanos = value
        .checked_mul(nanos_per_unit)
        .ok_or_else(|| Error::InvalidArgument(format!("timestamp {value} is out of range")))?;
    Ok(TableVersion::Timestamp(DateTime::from_timestamp_nanos(
        nanos,
    )))
}

/// Parses an RFC 3339 instant, or a date-time without zone taken as UTC.
fn parse_timestamp(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(ts) = DateTime::parse_from_rfc3339(text) {
        return Ok(ts.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(naive.and_utc());
        }
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(midnight) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc());
    }
    Err(Error::InvalidArgument(format!(
        "cannot read '{text}' as a timestamp for Delta time travel: use RFC 3339, e.g. 2026-01-01T00:00:00Z"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::lit;

    #[test]
    fn version_and_timestamp_arguments() {
        let (loc, v) = parse_args(&[lit("s3://b/t"), lit(3_i64)]).unwrap();
        assert_eq!(loc, "s3://b/t");
        assert_eq!(v, TableVersion::Version(3));
        let (_, v) = parse_args(&[lit("t"), lit("2026-01-01T00:00:00Z")]).unwrap();
        let expected = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(v, TableVersion::Timestamp(expected.with_timezone(&Utc)));
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(parse_args(&[]).is_err());
        assert!(parse_args(&[lit(1)]).is_err());
        assert!(parse_args(&[lit("t"), lit(-1)]).is_err());
        assert!(parse_args(&[lit("t"), lit("yesterday")]).is_err());
        assert!(parse_args(&[lit("t"), lit(1), lit(2)]).is_err());
    }

    /// `delta_scan` opens its table while DataFusion plans the query, in a
    /// synchronous call: it needs a multi-threaded runtime, and says so on
    /// a current-thread one (never blocks it).
    #[tokio::test(flavor = "current_thread")]
    async fn on_a_current_thread_runtime_delta_scan_says_what_it_needs() {
        let err = scan_of_a_missing_table().await;
        assert!(
            err.contains("delta_scan") && err.contains("multi-threaded Tokio runtime"),
            "{err}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn on_a_multi_threaded_runtime_delta_scan_opens_its_table() {
        let err = scan_of_a_missing_table().await;
        assert!(err.contains("is not a Delta table"), "{err}");
    }

    /// The error of a query that `delta_scan`s an empty directory.
    async fn scan_of_a_missing_table() -> String {
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::new_session_context();
        let sql = format!("SELECT * FROM delta_scan('{}')", dir.path().display());
        ctx.sql(&sql).await.unwrap_err().to_string()
    }
}

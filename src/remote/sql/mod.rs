//! Spark SQL generated from DataFusion plans: the dialect lakefed speaks to
//! the Spark SQL engines (Spark Connect servers, Databricks SQL
//! warehouses), built on semantics rather than syntax. It names no source.
//!
//! - this module: identifiers and literals that mean the same value whatever
//!   the server's parser settings;
//! - [`expr`]: the allow-list of expressions Spark evaluates exactly as
//!   DataFusion does (anything else stays in DataFusion);
//! - [`plan`]: whole logical subplans (joins, aggregates, windows, sorts,
//!   unions) as one statement of nested derived tables.
//!
//! Literals and identifiers never depend on the server's settings:
//! - a string with a quote or a backslash is sent as UTF-8 bytes
//!   (`CAST(X'..' AS STRING)`), so `spark.sql.parser.escapedStringLiterals`
//!   cannot change its meaning;
//! - Spark's variable substitution (`spark.sql.variable.substitute`, on by
//!   default) rewrites every `${...}` in the SQL text before parsing, inside
//!   string literals and quoted identifiers too (`'${env:HOME}'` becomes the
//!   driver's home directory, an unknown `${x}` the empty string). So no `$`
//!   written by a user ever reaches the text: strings holding one travel as
//!   bytes, and names holding one as an `IDENTIFIER(..)` clause over their
//!   bytes, which Spark parses after substitution.

pub mod expr;
pub(crate) mod plan;

use std::fmt::Write;

use chrono::{DateTime, NaiveDate};
use datafusion::common::ScalarValue;

pub use expr::filter;

/// Field metadata marking a Spark `CHAR(n)` column (its value is `n`).
/// Spark pads such values and compares them padded with the other side, so
/// lakefed never sends a comparison on them (see [`expr`]).
pub const CHAR_LENGTH_KEY: &str = "lakefed.spark.char_length";

/// A Spark identifier: backticks, a backtick inside doubled. Only for names
/// without `$`; `object_reference` writes any name.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A reference to a table or column by its name `parts` (catalog,
/// namespace, table; or a column) that means exactly these names whatever
/// the server's settings: the quoted parts joined by dots, or, when a part
/// holds a `$` (which variable substitution would rewrite), the
/// `IDENTIFIER` clause over their bytes. Spark accepts the clause wherever
/// a query names a table or column, not for aliases or `SHOW NAMESPACES`.
pub fn object_reference(parts: &[&str]) -> String {
    let quoted = parts
        .iter()
        .map(|part| quote_identifier(part))
        .collect::<Vec<_>>()
        .join(".");
    if parts.iter().any(|part| part.contains('$')) {
        format!("IDENTIFIER({})", string_literal(&quoted))
    } else {
        quoted
    }
}

/// A Spark string literal with the same value whatever the server's
/// settings: plain when it holds no quote, backslash or `$`, else its UTF-8
/// bytes.
pub fn string_literal(value: &str) -> String {
    if value.contains(['\'', '\\', '$']) {
        let mut hex = String::with_capacity(value.len() * 2 + 24);
        hex.push_str("CAST(X'");
        for byte in value.bytes() {
            let _ = write!(hex, "{byte:02X}");
        }
        hex.push_str("' AS STRING)");
        hex
    } else {
        format!("'{value}'")
    }
}

/// A literal Spark reads as the same value and type, if there is one.
pub fn literal(value: &ScalarValue) -> Option<String> {
    if value.is_null() {
        return Some("NULL".to_string());
    }
    Some(match value {
        ScalarValue::Boolean(Some(v)) => if *v { "TRUE" } else { "FALSE" }.to_string(),
        // A type's minimum is written as a cast: some Spark Connect servers
        // (Sail) read `-128Y` as `-(128Y)`, which overflows.
        ScalarValue::Int8(Some(i8::MIN)) => "CAST(-128 AS TINYINT)".to_string(),
        ScalarValue::Int16(Some(i16::MIN)) => "CAST(-32768 AS SMALLINT)".to_string(),
        ScalarValue::Int32(Some(i32::MIN)) => "CAST(-2147483648 AS INT)".to_string(),
        ScalarValue::Int64(Some(i64::MIN)) => "CAST(-9223372036854775808 AS BIGINT)".to_string(),
        ScalarValue::Int8(Some(v)) => format!("{v}Y"),
        ScalarValue::Int16(Some(v)) => format!("{v}S"),
        ScalarValue::Int32(Some(v)) => format!("{v}"),
        ScalarValue::Int64(Some(v)) => format!("{v}L"),
        ScalarValue::UInt8(Some(v)) => format!("{v}S"),
        ScalarValue::UInt16(Some(v)) => format!("{v}"),
        ScalarValue::UInt32(Some(v)) => format!("{v}L"),
        ScalarValue::Decimal128(Some(v), precision, scale) => decimal(*v, *precision, *scale)?,
        ScalarValue::Utf8(Some(v))
        | ScalarValue::LargeUtf8(Some(v))
        | ScalarValue::Utf8View(Some(v)) => string_literal(v),
        ScalarValue::Binary(Some(v))
        | ScalarValue::LargeBinary(Some(v))
        | ScalarValue::BinaryView(Some(v)) => {
            let mut hex = String::from("X'");
            for byte in v {
                let _ = write!(hex, "{byte:02X}");
            }
            hex.push('\'');
            hex
        }
        ScalarValue::Date32(Some(days)) => {
            let date = NaiveDate::from_num_days_from_ce_opt(719_163 + *days)?;
            format!(
                "DATE '{}'",
                four_digit_year(date.format("%Y-%m-%d").to_string())?
            )
        }
        ScalarValue::TimestampSecond(Some(v), zone) => {
            timestamp(v.checked_mul(1_000_000)?, zone.is_some())?
        }
        ScalarValue::TimestampMillisecond(Some(v), zone) => {
            timestamp(v.checked_mul(1_000)?, zone.is_some())?
        }
        ScalarValue::TimestampMicrosecond(Some(v), zone) => timestamp(*v, zone.is_some())?,
        ScalarValue::TimestampNanosecond(Some(v), zone) if v % 1_000 == 0 => {
            timestamp(v / 1_000, zone.is_some())?
        }
        _ => return None,
    })
}

/// `123.45BD`: Spark's exact decimal literal (its type widens exactly in
/// comparisons with any decimal column).
fn decimal(unscaled: i128, precision: u8, scale: i8) -> Option<String> {
    if scale < 0 || precision > 38 {
        return None;
    }
    let scale = scale as usize;
    let digits = unscaled.unsigned_abs().to_string();
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = digits.split_at(digits.len() - scale);
    let sign = if unscaled < 0 { "-" } else { "" };
    Some(if scale == 0 {
        format!("{sign}{whole}BD")
    } else {
        format!("{sign}{whole}.{fraction}BD")
    })
}

/// An instant (`TIMESTAMP`, whatever the session zone) or a local date-time
/// (`TIMESTAMP_NTZ`), from microseconds since the epoch.
fn timestamp(micros: i64, with_zone: bool) -> Option<String> {
    if with_zone {
        return Some(format!("TIMESTAMP_MICROS({micros}L)"));
    }
    let value = DateTime::from_timestamp_micros(micros)?.naive_utc();
    let text = four_digit_year(value.format("%Y-%m-%d %H:%M:%S%.6f").to_string())?;
    Some(format!("TIMESTAMP_NTZ '{text}'"))
}

/// Spark's literals take years 0001 to 9999 only.
fn four_digit_year(text: String) -> Option<String> {
    let year = text.split('-').next()?;
    (year.len() == 4 && year.chars().all(|c| c.is_ascii_digit()) && year != "0000").then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_double_backticks() {
        assert_eq!(quote_identifier("a`b"), "`a``b`");
        assert_eq!(quote_identifier("order"), "`order`");
    }

    #[test]
    fn strings_with_quotes_or_backslashes_travel_as_bytes() {
        assert_eq!(
            string_literal("plain -- /* text */"),
            "'plain -- /* text */'"
        );
        assert_eq!(string_literal("it's"), "CAST(X'69742773' AS STRING)");
        assert_eq!(string_literal("a\\"), "CAST(X'615C' AS STRING)");
        assert_eq!(
            string_literal("${env:HOME}"),
            "CAST(X'247B656E763A484F4D457D' AS STRING)"
        );
    }

    #[test]
    fn names_with_a_dollar_travel_as_bytes() {
        assert_eq!(object_reference(&["db", "t`x"]), "`db`.`t``x`");
        // `` `db`.`t${x}` `` as bytes.
        assert_eq!(
            object_reference(&["db", "t${x}"]),
            "IDENTIFIER(CAST(X'606462602E6074247B787D60' AS STRING))"
        );
    }

    #[test]
    fn literals_keep_their_type() {
        assert_eq!(
            literal(&ScalarValue::Int64(Some(i64::MIN))).unwrap(),
            "CAST(-9223372036854775808 AS BIGINT)"
        );
        assert_eq!(literal(&ScalarValue::Int8(Some(-127))).unwrap(), "-127Y");
        assert_eq!(literal(&ScalarValue::Int64(Some(-1))).unwrap(), "-1L");
        assert_eq!(
            literal(&ScalarValue::Decimal128(Some(-5), 10, 3)).unwrap(),
            "-0.005BD"
        );
        assert_eq!(
            literal(&ScalarValue::Date32(Some(0))).unwrap(),
            "DATE '1970-01-01'"
        );
        assert_eq!(
            literal(&ScalarValue::TimestampMicrosecond(Some(1), None)).unwrap(),
            "TIMESTAMP_NTZ '1970-01-01 00:00:00.000001'"
        );
        assert_eq!(literal(&ScalarValue::Float64(Some(1.0))), None);
    }
}

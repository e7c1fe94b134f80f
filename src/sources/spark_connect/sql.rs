//! Spark SQL text for a remote scan, generated from DataFusion expressions.
//!
//! Only what Spark evaluates exactly as DataFusion does is rendered; anything
//! else returns `None` and stays in DataFusion. The allow-list:
//! - column references and literals of integer, decimal, string, binary,
//!   boolean, date and timestamp types;
//! - comparisons (`=`, `<>`, `<`, `<=`, `>`, `>=`, `IS [NOT] DISTINCT FROM`),
//!   `BETWEEN` and `IN` lists over those types. Never over floating point:
//!   DataFusion orders floats totally (`-0.0 < 0.0`, `NaN = NaN`), Spark
//!   treats `-0.0 = 0.0`;
//! - `AND`, `OR`, `NOT`, `IS [NOT] NULL`, `IS [NOT] TRUE|FALSE|UNKNOWN`;
//! - `LIKE` with a literal pattern whose only escapes are `\%`, `\_`, `\\`
//!   (Spark rejects other escapes, DataFusion accepts them);
//! - casts that keep every value exactly (integer widening, integer or
//!   decimal to a wider decimal).
//!
//! Literals never depend on parser settings: a string with a quote or a
//! backslash is sent as UTF-8 bytes (`CAST(X'..' AS STRING)`), so
//! `spark.sql.parser.escapedStringLiterals` cannot change its meaning.

use std::fmt::Write;

use chrono::{DateTime, NaiveDate};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::logical_expr::expr::{InList, Like};
use datafusion::logical_expr::{Between, BinaryExpr, Cast, Expr, ExprSchemable, Operator};

/// A Spark identifier: backticks, a backtick inside doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A Spark string literal with the same value whatever the server's parser
/// settings: plain when it holds no quote or backslash, else its UTF-8 bytes.
pub fn string_literal(value: &str) -> String {
    if value.contains(['\'', '\\']) {
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

/// Renders a filter for the `WHERE` clause of a scan of a table with
/// `schema`, if Spark evaluates it exactly as DataFusion does.
pub fn filter(expr: &Expr, schema: &DFSchema) -> Option<String> {
    // Columns reach a scan qualified by the query's name for the table; the
    // table's own schema knows them unqualified.
    let unqualified = expr
        .clone()
        .transform(|expr| {
            Ok(match expr {
                Expr::Column(column) => {
                    Transformed::yes(Expr::Column(Column::new_unqualified(column.name)))
                }
                other => Transformed::no(other),
            })
        })
        .ok()?
        .data;
    Renderer { schema }.predicate(&unqualified)
}

struct Renderer<'a> {
    schema: &'a DFSchema,
}

impl Renderer<'_> {
    /// A boolean expression.
    fn predicate(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
                Operator::And | Operator::Or => Some(format!(
                    "({} {op} {})",
                    self.predicate(left)?,
                    self.predicate(right)?
                )),
                Operator::Eq
                | Operator::NotEq
                | Operator::Lt
                | Operator::LtEq
                | Operator::Gt
                | Operator::GtEq => Some(format!(
                    "({} {op} {})",
                    self.comparable(left)?,
                    self.comparable(right)?
                )),
                Operator::IsNotDistinctFrom => Some(format!(
                    "({} <=> {})",
                    self.comparable(left)?,
                    self.comparable(right)?
                )),
                Operator::IsDistinctFrom => Some(format!(
                    "(NOT ({} <=> {}))",
                    self.comparable(left)?,
                    self.comparable(right)?
                )),
                _ => None,
            },
            Expr::Not(inner) => Some(format!("(NOT {})", self.predicate(inner)?)),
            Expr::IsNull(inner) => Some(format!("({} IS NULL)", self.value(inner)?)),
            Expr::IsNotNull(inner) => Some(format!("({} IS NOT NULL)", self.value(inner)?)),
            Expr::IsTrue(inner) => Some(format!("({} <=> TRUE)", self.predicate(inner)?)),
            Expr::IsFalse(inner) => Some(format!("({} <=> FALSE)", self.predicate(inner)?)),
            Expr::IsNotTrue(inner) => Some(format!("(NOT ({} <=> TRUE))", self.predicate(inner)?)),
            Expr::IsNotFalse(inner) => {
                Some(format!("(NOT ({} <=> FALSE))", self.predicate(inner)?))
            }
            Expr::IsUnknown(inner) => Some(format!("({} IS NULL)", self.predicate(inner)?)),
            Expr::IsNotUnknown(inner) => Some(format!("({} IS NOT NULL)", self.predicate(inner)?)),
            Expr::Between(Between {
                expr,
                negated,
                low,
                high,
            }) => Some(format!(
                "({} {}BETWEEN {} AND {})",
                self.comparable(expr)?,
                if *negated { "NOT " } else { "" },
                self.comparable(low)?,
                self.comparable(high)?
            )),
            Expr::InList(InList {
                expr,
                list,
                negated,
            }) => {
                let items = list
                    .iter()
                    .map(|item| self.comparable(item))
                    .collect::<Option<Vec<_>>>()?;
                Some(format!(
                    "({} {}IN ({}))",
                    self.comparable(expr)?,
                    if *negated { "NOT " } else { "" },
                    items.join(", ")
                ))
            }
            Expr::Like(like) => self.like(like),
            Expr::Column(_) | Expr::Literal(..) => {
                (self.type_of(expr)? == DataType::Boolean).then(|| self.value(expr))?
            }
            _ => None,
        }
    }

    /// `LIKE` with a pattern both engines read the same way.
    fn like(&self, like: &Like) -> Option<String> {
        let Like {
            negated,
            expr,
            pattern,
            escape_char,
            case_insensitive,
        } = like;
        if *case_insensitive || !matches!(escape_char, None | Some('\\')) {
            return None;
        }
        let Expr::Literal(value, _) = pattern.as_ref() else {
            return None;
        };
        let pattern_text = value.try_as_str()??;
        if !escapes_are_portable(pattern_text) {
            return None;
        }
        Some(format!(
            "({} {}LIKE {})",
            self.comparable(expr)?,
            if *negated { "NOT " } else { "" },
            string_literal(pattern_text)
        ))
    }

    /// An operand of a comparison: a value whose ordering and equality are
    /// the same in both engines.
    fn comparable(&self, expr: &Expr) -> Option<String> {
        let data_type = self.type_of(expr)?;
        let comparable = data_type.is_integer()
            || matches!(
                data_type,
                DataType::Decimal128(..)
                    | DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Binary
                    | DataType::LargeBinary
                    | DataType::BinaryView
                    | DataType::Boolean
                    | DataType::Date32
                    | DataType::Timestamp(TimeUnit::Microsecond, _)
                    | DataType::Null
            );
        if !comparable {
            return None;
        }
        match data_type {
            DataType::Boolean => self.predicate(expr),
            _ => self.value(expr),
        }
    }

    /// A column, a literal, or an integer widening cast.
    fn value(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Column(column) => {
                self.schema.field_with_unqualified_name(&column.name).ok()?;
                Some(quote_identifier(&column.name))
            }
            Expr::Literal(value, _) => literal(value),
            Expr::Cast(Cast { expr: inner, field }) => {
                let spark_type = widening_cast(&self.type_of(inner)?, field.data_type())?;
                Some(format!("CAST({} AS {spark_type})", self.value(inner)?))
            }
            _ => None,
        }
    }

    fn type_of(&self, expr: &Expr) -> Option<DataType> {
        expr.get_type(self.schema).ok()
    }
}

/// The Spark type of a cast that keeps every value exactly (no rounding, no
/// overflow) in both engines: integer widening, and integer or decimal to a
/// decimal with at least as many integer and fraction digits.
fn widening_cast(from: &DataType, to: &DataType) -> Option<String> {
    let integer_digits = |data_type: &DataType| match data_type {
        DataType::Int8 => Some(3),
        DataType::Int16 => Some(5),
        DataType::Int32 => Some(10),
        DataType::Int64 => Some(19),
        _ => None,
    };
    match (from, to) {
        (from, to) if from.is_signed_integer() && to.is_signed_integer() => {
            let widening = from.primitive_width()? < to.primitive_width()?;
            let name = match to {
                DataType::Int16 => "SMALLINT",
                DataType::Int32 => "INT",
                _ => "BIGINT",
            };
            widening.then(|| name.to_string())
        }
        (from, DataType::Decimal128(precision, scale)) if *scale >= 0 => {
            let (from_integer, from_scale) = match from {
                DataType::Decimal128(p, s) if *s >= 0 => (*p as i16 - *s as i16, *s as i16),
                other => (integer_digits(other)?, 0),
            };
            let fits =
                (*precision as i16 - *scale as i16) >= from_integer && *scale as i16 >= from_scale;
            fits.then(|| format!("DECIMAL({precision}, {scale})"))
        }
        _ => None,
    }
}

/// Whether every `\` in a `LIKE` pattern escapes `%`, `_` or `\`: the only
/// escapes Spark accepts, and ones DataFusion reads the same way.
fn escapes_are_portable(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && !matches!(chars.next(), Some('%' | '_' | '\\')) {
            return false;
        }
    }
    true
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

    #[test]
    fn like_escapes_must_be_portable() {
        assert!(escapes_are_portable(r"a\%b\_c\\"));
        assert!(!escapes_are_portable(r"a\b"));
        assert!(!escapes_are_portable("trailing\\"));
    }
}

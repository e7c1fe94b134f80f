//! Decoding `JSON_ARRAY` results: rows of strings typed by the manifest.
//!
//! The reference promises only that each non-null value is "the string
//! representation" of the value. Top-level values are decoded exactly or
//! refused: numbers, booleans, dates and timestamps go through Arrow's
//! checked string casts (`NaN`/`Infinity` spelled as Java prints them are
//! accepted for floats; a decimal with more fraction digits than its scale
//! is an error, not rounded), `BINARY` is hex, intervals are in the Hive
//! form (`1-6`, `1 02:03:04.500000000`). `ARRAY`/`MAP`/`STRUCT` values are
//! JSON text decoded by arrow-json with the column's Arrow type in strict
//! mode (a field the type does not have is an error). Nested binary or
//! interval values have no single text form a client can rely on: they are
//! refused with an error that says to allow `EXTERNAL_LINKS` or
//! `ARROW_STREAM`.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, BinaryArray, DurationMicrosecondArray, Float32Array, Float64Array,
    IntervalYearMonthArray, RecordBatch, RecordBatchOptions, StringArray, new_empty_array,
    new_null_array,
};
use datafusion::arrow::compute::{CastOptions, cast, cast_with_options};
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, IntervalUnit, Schema, SchemaRef, TimeUnit,
};
use datafusion::arrow::json::ReaderBuilder;

/// One row of a `JSON_ARRAY` result: a string or `null` per column.
pub(crate) type JsonRow = Vec<Option<String>>;

/// The rows as a batch of `schema`; the error names the column and value.
pub(crate) fn decode(schema: &SchemaRef, rows: &[JsonRow]) -> Result<RecordBatch, String> {
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let values = rows
                .iter()
                .map(|row| match row.get(index) {
                    Some(value) => Ok(value.as_deref()),
                    None => Err(format!(
                        "a row has {} values, not {}",
                        row.len(),
                        schema.fields().len()
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            column(field, &values).map_err(|err| format!("column '{}': {err}", field.name()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    RecordBatch::try_new_with_options(Arc::clone(schema), columns, &options)
        .map_err(|err| err.to_string())
}

/// `batch` (Arrow from the warehouse) with the columns that arrived as text
/// where the manifest names an ARRAY, MAP, STRUCT or interval type decoded
/// to that type, as some warehouses send them. Nothing is left as text.
pub(crate) fn decode_text_columns(
    manifest: &SchemaRef,
    batch: RecordBatch,
) -> Result<RecordBatch, String> {
    if batch.num_columns() != manifest.fields().len() {
        return Ok(batch);
    }
    let mut columns = batch.columns().to_vec();
    let mut fields: Vec<FieldRef> = batch.schema().fields().iter().cloned().collect();
    let mut changed = false;
    for (index, expected) in manifest.fields().iter().enumerate() {
        let textual = matches!(
            columns[index].data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        );
        let structured = matches!(
            expected.data_type(),
            DataType::List(_)
                | DataType::Map(_, _)
                | DataType::Struct(_)
                | DataType::Interval(_)
                | DataType::Duration(_)
        );
        if !(textual && structured) {
            continue;
        }
        let text = cast(&columns[index], &DataType::Utf8).map_err(|err| err.to_string())?;
        let values: Vec<Option<&str>> = text.as_string::<i32>().iter().collect();
        columns[index] = column(expected, &values)
            .map_err(|err| format!("column '{}': {err}", expected.name()))?;
        let field = fields[index].as_ref().clone();
        fields[index] = Arc::new(field.with_data_type(expected.data_type().clone()));
        changed = true;
    }
    if !changed {
        return Ok(batch);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|err| err.to_string())
}

/// The values of one column as an array of `field`'s type.
fn column(field: &Field, values: &[Option<&str>]) -> Result<ArrayRef, String> {
    let array: ArrayRef = match field.data_type() {
        DataType::Binary => Arc::new(
            values
                .iter()
                .map(|value| value.map(hex::decode).transpose())
                .collect::<Result<BinaryArray, _>>()
                .map_err(|err| format!("a BINARY value is not hex text ({err})"))?,
        ),
        DataType::Float32 => Arc::new(
            values
                .iter()
                .map(|value| value.map(float::<f32>).transpose())
                .collect::<Result<Float32Array, _>>()?,
        ),
        DataType::Float64 => Arc::new(
            values
                .iter()
                .map(|value| value.map(float::<f64>).transpose())
                .collect::<Result<Float64Array, _>>()?,
        ),
        DataType::Interval(IntervalUnit::YearMonth) => Arc::new(
            values
                .iter()
                .map(|value| value.map(year_month).transpose())
                .collect::<Result<IntervalYearMonthArray, _>>()?,
        ),
        DataType::Duration(TimeUnit::Microsecond) => Arc::new(
            values
                .iter()
                .map(|value| value.map(day_time).transpose())
                .collect::<Result<DurationMicrosecondArray, _>>()?,
        ),
        DataType::Null => {
            if values.iter().any(Option::is_some) {
                return Err("a VOID column has a value".to_string());
            }
            new_null_array(&DataType::Null, values.len())
        }
        DataType::Decimal128(_, scale) => {
            if let Some(text) = values.iter().flatten().find(|v| !fits_scale(v, *scale)) {
                return Err(format!(
                    "'{text}' has more fraction digits than the scale {scale}"
                ));
            }
            cast_strings(values, field.data_type())?
        }
        DataType::List(_) | DataType::Map(_, _) | DataType::Struct(_) => nested(field, values)?,
        data_type => cast_strings(values, data_type)?,
    };
    Ok(array)
}

/// The values cast from strings by Arrow, failing on any that does not parse.
fn cast_strings(values: &[Option<&str>], data_type: &DataType) -> Result<ArrayRef, String> {
    let text = StringArray::from(values.to_vec());
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_with_options(&text, data_type, &options).map_err(|err| err.to_string())
}

/// Whether decimal text has at most `scale` digits after its point.
fn fits_scale(text: &str, scale: i8) -> bool {
    let fraction = text.split_once('.').map_or("", |(_, f)| f);
    fraction.len() <= usize::try_from(scale).unwrap_or(0)
}

/// A float as Java prints it (`1.5`, `1.0E10`, `NaN`, `-Infinity`).
fn float<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    let spelled = match text {
        "Infinity" => "inf",
        "-Infinity" => "-inf",
        "NaN" => "NaN",
        other
            if other
                .chars()
                .any(|c| c.is_ascii_alphabetic() && c != 'E' && c != 'e') =>
        {
            return Err(format!("'{text}' is not a floating-point number"));
        }
        other => other,
    };
    spelled
        .parse()
        .map_err(|_| format!("'{text}' is not a floating-point number"))
}

/// A YEAR TO MONTH interval in the Hive form `[-]Y-M`, in months.
fn year_month(text: &str) -> Result<i32, String> {
    let bad = || format!("'{text}' is not a year-month interval (Y-M)");
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (years, months) = body.split_once('-').ok_or_else(bad)?;
    let years: i32 = years.parse().map_err(|_| bad())?;
    let months: i32 = months.parse().map_err(|_| bad())?;
    if !(0..12).contains(&months) {
        return Err(bad());
    }
    let total = years
        .checked_mul(12)
        .and_then(|m| m.checked_add(months))
        .ok_or_else(bad)?;
    Ok(if negative { -total } else { total })
}

/// A DAY TO SECOND interval in the Hive form `[-]D HH:MM:SS[.fffffffff]`,
/// in microseconds (finer digits must be zero: nothing is rounded away).
fn day_time(text: &str) -> Result<i64, String> {
    let bad = || format!("'{text}' is not a day-time interval (D HH:MM:SS.fffffffff)");
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (days, clock) = body.split_once(' ').ok_or_else(bad)?;
    let (whole, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let parts: Vec<&str> = whole.split(':').collect();
    let [hours, minutes, seconds] = parts.as_slice() else {
        return Err(bad());
    };
    let number = |part: &str, limit: i64| -> Result<i64, String> {
        let value: i64 = part.parse().map_err(|_| bad())?;
        if (0..limit).contains(&value) {
            Ok(value)
        } else {
            Err(bad())
        }
    };
    if fraction.len() > 9 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let nanos = format!("{fraction:0<9}");
    if !nanos.ends_with("000") {
        return Err(format!("'{text}' has more than microsecond precision"));
    }
    let micros: i64 = nanos[..6].parse().map_err(|_| bad())?;
    let days: i64 = days.parse().map_err(|_| bad())?;
    let seconds = number(hours, 24)? * 3600 + number(minutes, 60)? * 60 + number(seconds, 60)?;
    let total = days
        .checked_mul(86_400_000_000)
        .and_then(|d| d.checked_add(seconds * 1_000_000 + micros))
        .ok_or_else(bad)?;
    Ok(if negative { -total } else { total })
}

/// ARRAY, MAP and STRUCT values: JSON text decoded as the column's type.
fn nested(field: &Field, values: &[Option<&str>]) -> Result<ArrayRef, String> {
    if let Some(inexact) = inexact_inside(field.data_type()) {
        return Err(format!(
            "{inexact} values nested in {} have no exact JSON_ARRAY form; \
             allow EXTERNAL_LINKS or INLINE ARROW_STREAM results on the warehouse",
            field.data_type()
        ));
    }
    if values.is_empty() {
        return Ok(new_empty_array(field.data_type()));
    }
    let wrapped = Arc::new(Schema::new(vec![field.clone().with_name("v")]));
    let mut lines = String::new();
    for value in values {
        lines.push_str("{\"v\":");
        lines.push_str(value.unwrap_or("null"));
        lines.push_str("}\n");
    }
    let mut decoder = ReaderBuilder::new(wrapped)
        .with_batch_size(values.len())
        .with_strict_mode(true)
        .build_decoder()
        .map_err(|err| err.to_string())?;
    let consumed = decoder
        .decode(lines.as_bytes())
        .map_err(|err| format!("a value is not JSON of {} ({err})", field.data_type()))?;
    if consumed != lines.len() {
        return Err(format!("a value is not JSON of {}", field.data_type()));
    }
    let batch = decoder
        .flush()
        .map_err(|err| format!("a value is not JSON of {} ({err})", field.data_type()))?
        .filter(|batch| batch.num_rows() == values.len())
        .ok_or_else(|| format!("a value is not one JSON value of {}", field.data_type()))?;
    Ok(Arc::clone(batch.column(0)))
}

/// The first type inside `data_type` whose nested JSON form is not exact.
fn inexact_inside(data_type: &DataType) -> Option<String> {
    match data_type {
        DataType::Binary | DataType::Interval(_) | DataType::Duration(_) => {
            Some(data_type.to_string())
        }
        DataType::List(element) => inexact_inside(element.data_type()),
        DataType::Map(entries, _) => inexact_inside(entries.data_type()),
        DataType::Struct(fields) => fields.iter().find_map(|f| inexact_inside(f.data_type())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Array;
    use datafusion::arrow::datatypes::{
        DurationMicrosecondType, Float64Type, Int32Type, IntervalYearMonthType,
    };
    use datafusion::arrow::util::pretty::pretty_format_batches;

    use super::*;
    use crate::sources::databricks_sql::arrow_field;

    fn schema(columns: &[(&str, &str)]) -> SchemaRef {
        Arc::new(Schema::new(
            columns
                .iter()
                .map(|(name, type_text)| arrow_field(name, type_text, true).unwrap())
                .collect::<Vec<_>>(),
        ))
    }

    fn row(values: &[Option<&str>]) -> JsonRow {
        values.iter().map(|v| v.map(str::to_string)).collect()
    }

    #[test]
    fn scalar_values_are_decoded_exactly() {
        let schema = schema(&[
            ("i", "INT"),
            ("d", "DECIMAL(10,2)"),
            ("f", "DOUBLE"),
            ("b", "BOOLEAN"),
            ("s", "STRING"),
            ("bin", "BINARY"),
            ("day", "DATE"),
            ("ts", "TIMESTAMP"),
            ("ntz", "TIMESTAMP_NTZ"),
            ("ym", "INTERVAL YEAR TO MONTH"),
            ("dt", "INTERVAL DAY TO SECOND"),
        ]);
        let rows = [
            row(&[
                Some("-7"),
                Some("12.50"),
                Some("1.0E10"),
                Some("true"),
                Some("it's"),
                Some("00FF"),
                Some("2024-02-29"),
                Some("2024-02-29T12:34:56.789Z"),
                Some("2024-02-29T12:34:56.789123"),
                Some("-1-6"),
                Some("1 02:03:04.500000000"),
            ]),
            row(&[None; 11]),
        ];
        let batch = decode(&schema, &rows).unwrap();
        let months = batch.column(9).as_primitive::<IntervalYearMonthType>();
        assert_eq!(months.value(0), -18);
        let micros = batch.column(10).as_primitive::<DurationMicrosecondType>();
        assert_eq!(micros.value(0), 93_784_500_000);
        let text = pretty_format_batches(&[batch]).unwrap().to_string();
        let first = text.lines().nth(3).unwrap();
        for expected in [
            "-7",
            "12.50",
            "10000000000.0",
            "true",
            "it's",
            "00ff",
            "2024-02-29",
            "2024-02-29T12:34:56.789Z",
            "2024-02-29T12:34:56.789123",
        ] {
            assert!(first.contains(expected), "{expected} not in {first}");
        }
        let second = text.lines().nth(4).unwrap();
        assert!(second.chars().all(|c| c == '|' || c == ' '), "{second}");
    }

    #[test]
    fn java_float_spellings_are_floats() {
        let schema = schema(&[("f", "DOUBLE")]);
        let rows = ["NaN", "Infinity", "-Infinity", "-0.0", "1.5E-7"].map(|v| row(&[Some(v)]));
        let batch = decode(&schema, &rows).unwrap();
        let values = batch.column(0).as_primitive::<Float64Type>();
        assert!(values.value(0).is_nan());
        assert_eq!(values.value(1), f64::INFINITY);
        assert_eq!(values.value(2), f64::NEG_INFINITY);
        assert!(values.value(3).is_sign_negative());
        assert_eq!(values.value(4), 1.5e-7);
        assert!(decode(&schema, &[row(&[Some("inf")])]).is_err());
    }

    #[test]
    fn nested_values_are_json_of_their_type() {
        let schema = schema(&[
            ("a", "ARRAY<INT>"),
            ("m", "MAP<STRING,DECIMAL(5,2)>"),
            ("s", "STRUCT<x: DOUBLE, t: TIMESTAMP>"),
        ]);
        let rows = [
            row(&[
                Some("[1,null,3]"),
                Some(r#"{"k":1.50}"#),
                Some(r#"{"x":"NaN","t":"2024-01-01T00:00:00.000Z"}"#),
            ]),
            row(&[None, None, None]),
        ];
        let batch = decode(&schema, &rows).unwrap();
        let list = batch.column(0).as_list::<i32>();
        let first = list.value(0);
        let ints = first.as_primitive::<Int32Type>();
        assert_eq!(ints.iter().collect::<Vec<_>>(), [Some(1), None, Some(3)]);
        assert!(batch.column(0).is_null(1) && batch.column(2).is_null(1));
        let text = pretty_format_batches(&[batch]).unwrap().to_string();
        assert!(text.contains("{k: 1.50}"), "{text}");
        assert!(
            text.contains("x: NaN") && text.contains("2024-01-01T00:00:00Z"),
            "{text}"
        );
    }

    #[test]
    fn arrow_columns_sent_as_text_are_decoded_to_the_manifest_types() {
        let manifest = schema(&[("n", "INT"), ("a", "ARRAY<INT>"), ("ym", "INTERVAL YEAR")]);
        let batch = RecordBatch::try_from_iter([
            (
                "n",
                Arc::new(datafusion::arrow::array::Int32Array::from(vec![1, 2])) as ArrayRef,
            ),
            ("a", Arc::new(StringArray::from(vec![Some("[1,2]"), None]))),
            (
                "ym",
                Arc::new(StringArray::from(vec![Some("3-0"), Some("-0-1")])),
            ),
        ])
        .unwrap();
        let decoded = decode_text_columns(&manifest, batch).unwrap();
        assert_eq!(
            decoded.schema().field(1).data_type(),
            manifest.field(1).data_type()
        );
        let months = decoded.column(2).as_primitive::<IntervalYearMonthType>();
        assert_eq!(months.values().to_vec(), [36, -1]);
        let bad = RecordBatch::try_from_iter([
            ("n", Arc::new(StringArray::from(vec!["1"])) as ArrayRef),
            ("a", Arc::new(StringArray::from(vec!["[1,"]))),
            ("ym", Arc::new(StringArray::from(vec!["3-0"]))),
        ])
        .unwrap();
        let err = decode_text_columns(&manifest, bad).unwrap_err();
        assert!(err.starts_with("column 'a'"), "{err}");
    }

    #[test]
    fn values_that_do_not_fit_are_errors_naming_the_column() {
        let cases = [
            ("INT", "1.5"),
            ("INT", "99999999999"),
            ("DECIMAL(3,1)", "123.4"),
            ("DECIMAL(5,1)", "1.25"),
            ("VOID", "x"),
            ("STRUCT<x: INT>", r#"{"x":1,"y":2}"#),
            ("BINARY", "xyz"),
            ("INTERVAL YEAR TO MONTH", "1-12"),
            ("INTERVAL DAY TO SECOND", "0 00:00:00.000000001"),
            ("ARRAY<INT>", "[1,"),
            ("ARRAY<BINARY>", "[\"AA==\"]"),
        ];
        for (type_text, value) in cases {
            let err = decode(&schema(&[("c", type_text)]), &[row(&[Some(value)])]).unwrap_err();
            assert!(err.starts_with("column 'c'"), "{type_text} {value}: {err}");
        }
        let empty = decode(&schema(&[("a", "ARRAY<INT>"), ("n", "VOID")]), &[]).unwrap();
        assert_eq!(empty.num_rows(), 0);
        let short = decode(&schema(&[("a", "INT"), ("b", "INT")]), &[row(&[Some("1")])]);
        assert!(short.unwrap_err().contains("a row has 1 values"));
    }
}

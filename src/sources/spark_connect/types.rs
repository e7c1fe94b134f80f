//! Spark data types (as Spark Connect describes them) to Arrow, the way
//! Spark's own Arrow writer (`ArrowUtils.toArrowSchema`) converts them, so a
//! schema known before a query matches the batches the query returns.

use std::sync::Arc;

use super::proto::data_type::Kind;
use super::proto::{DataType as SparkType, data_type};
use datafusion::arrow::datatypes::{DataType, Field, Fields, IntervalUnit, Schema, TimeUnit};

use crate::error::{Error, Result};
use crate::remote::sql::CHAR_LENGTH_KEY;

/// Spark's defaults for a `DECIMAL` without precision or scale.
const DEFAULT_DECIMAL: (i32, i32) = (10, 0);

/// The Arrow schema of a Spark result whose type is `struct` (every result
/// schema is). `time_zone` is the session time zone, the zone of `TIMESTAMP`.
pub fn arrow_schema(spark: &SparkType, time_zone: &str) -> Result<Schema> {
    match &spark.kind {
        Some(Kind::Struct(fields)) => Ok(Schema::new(struct_fields(fields, time_zone)?)),
        other => Err(unsupported("the result", other)),
    }
}

fn struct_fields(fields: &data_type::Struct, time_zone: &str) -> Result<Fields> {
    fields
        .fields
        .iter()
        .map(|field| {
            let data_type = field
                .data_type
                .as_ref()
                .ok_or_else(|| unsupported(&field.name, &None))?;
            let arrow = Field::new(
                &field.name,
                arrow_type(data_type, time_zone).map_err(|err| in_column(&field.name, err))?,
                field.nullable,
            );
            Ok(match char_length(data_type, field.metadata.as_deref()) {
                Some(length) => {
                    arrow.with_metadata([(CHAR_LENGTH_KEY.to_string(), length.to_string())].into())
                }
                None => arrow,
            })
        })
        .collect()
}

/// The length of a `CHAR(n)` column: its type, or (in a query's result,
/// where Spark reports such a column as `STRING`) its field metadata
/// `{"__CHAR_VARCHAR_TYPE_STRING": "char(n)"}`.
fn char_length(spark: &SparkType, metadata: Option<&str>) -> Option<i32> {
    if let Some(Kind::Char(char)) = &spark.kind {
        return Some(char.length);
    }
    let metadata: serde_json::Value = serde_json::from_str(metadata?).ok()?;
    let declared = metadata.get("__CHAR_VARCHAR_TYPE_STRING")?.as_str()?;
    declared
        .strip_prefix("char(")?
        .strip_suffix(')')?
        .trim()
        .parse()
        .ok()
}

/// The Arrow type Spark writes a value of this Spark type as.
pub fn arrow_type(spark: &SparkType, time_zone: &str) -> Result<DataType> {
    let microsecond_timestamp =
        |zone: Option<&str>| DataType::Timestamp(TimeUnit::Microsecond, zone.map(Arc::from));
    Ok(match &spark.kind {
        Some(Kind::Null(_)) => DataType::Null,
        Some(Kind::Binary(_)) => DataType::Binary,
        Some(Kind::Boolean(_)) => DataType::Boolean,
        Some(Kind::Byte(_)) => DataType::Int8,
        Some(Kind::Short(_)) => DataType::Int16,
        Some(Kind::Integer(_)) => DataType::Int32,
        Some(Kind::Long(_)) => DataType::Int64,
        Some(Kind::Float(_)) => DataType::Float32,
        Some(Kind::Double(_)) => DataType::Float64,
        Some(Kind::Decimal(decimal)) => {
            let precision = decimal.precision.unwrap_or(DEFAULT_DECIMAL.0);
            let scale = decimal.scale.unwrap_or(DEFAULT_DECIMAL.1);
            let precision = u8::try_from(precision)
                .ok()
                .filter(|p| (1..=38).contains(p));
            let scale = i8::try_from(scale).ok();
            match (precision, scale) {
                (Some(precision), Some(scale)) => DataType::Decimal128(precision, scale),
                _ => return Err(unsupported("a value", &spark.kind)),
            }
        }
        Some(Kind::String(_) | Kind::Char(_) | Kind::VarChar(_)) => DataType::Utf8,
        Some(Kind::Date(_)) => DataType::Date32,
        Some(Kind::Timestamp(_)) => microsecond_timestamp(Some(time_zone)),
        Some(Kind::TimestampNtz(_)) => microsecond_timestamp(None),
        Some(Kind::CalendarInterval(_)) => DataType::Interval(IntervalUnit::MonthDayNano),
        Some(Kind::YearMonthInterval(_)) => DataType::Interval(IntervalUnit::YearMonth),
        Some(Kind::DayTimeInterval(_)) => DataType::Duration(TimeUnit::Microsecond),
        Some(Kind::Time(_)) => DataType::Time64(TimeUnit::Nanosecond),
        Some(Kind::Array(array)) => {
            let element = array
                .element_type
                .as_ref()
                .ok_or_else(|| unsupported("an array element", &None))?;
            DataType::List(Arc::new(Field::new(
                "element",
                arrow_type(element, time_zone)?,
                array.contains_null,
            )))
        }
        Some(Kind::Map(map)) => {
            let (Some(key), Some(value)) = (&map.key_type, &map.value_type) else {
                return Err(unsupported("a map", &spark.kind));
            };
            let entries = Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", arrow_type(key, time_zone)?, false),
                    Field::new(
                        "value",
                        arrow_type(value, time_zone)?,
                        map.value_contains_null,
                    ),
                ])),
                false,
            );
            DataType::Map(Arc::new(entries), false)
        }
        Some(Kind::Struct(fields)) => DataType::Struct(struct_fields(fields, time_zone)?),
        // A variant travels as its two binary encodings.
        Some(Kind::Variant(_)) => DataType::Struct(Fields::from(vec![
            Field::new("value", DataType::Binary, false),
            Field::new("metadata", DataType::Binary, false),
        ])),
        Some(Kind::Udt(udt)) => match &udt.sql_type {
            Some(sql_type) => arrow_type(sql_type, time_zone)?,
            None => return Err(unsupported("a user-defined type", &spark.kind)),
        },
        other => return Err(unsupported("a value", other)),
    })
}

fn unsupported(what: &str, kind: &Option<Kind>) -> Error {
    let name = match kind {
        Some(kind) => format!("{kind:?}"),
        None => "no type".to_string(),
    };
    let name = name
        .split(['(', ' '])
        .next()
        .unwrap_or_default()
        .to_string();
    Error::InvalidArgument(format!(
        "{what} has Spark type {name}, which lakefed cannot read as Arrow"
    ))
}

fn in_column(column: &str, err: Error) -> Error {
    match err {
        Error::InvalidArgument(message) if !message.starts_with("column") => {
            Error::InvalidArgument(format!("column '{column}': {message}"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::spark_connect::proto::data_type::{
        Array, Decimal, Long, Map, String as SparkString, Struct, StructField, Timestamp,
        TimestampNtz,
    };

    fn spark(kind: Kind) -> SparkType {
        SparkType { kind: Some(kind) }
    }

    fn field(name: &str, kind: Kind, nullable: bool) -> StructField {
        StructField {
            name: name.to_string(),
            data_type: Some(spark(kind)),
            nullable,
            metadata: None,
        }
    }

    #[test]
    fn nested_types_follow_sparks_arrow_writer() {
        let schema = spark(Kind::Struct(Struct {
            fields: vec![
                field("id", Kind::Long(Long::default()), false),
                field(
                    "amount",
                    Kind::Decimal(Decimal {
                        precision: Some(38),
                        scale: Some(18),
                        ..Default::default()
                    }),
                    true,
                ),
                field("at", Kind::Timestamp(Timestamp::default()), true),
                field("local", Kind::TimestampNtz(TimestampNtz::default()), true),
                field(
                    "tags",
                    Kind::Array(Box::new(Array {
                        element_type: Some(Box::new(spark(Kind::String(SparkString::default())))),
                        contains_null: true,
                        ..Default::default()
                    })),
                    true,
                ),
                field(
                    "props",
                    Kind::Map(Box::new(Map {
                        key_type: Some(Box::new(spark(Kind::String(SparkString::default())))),
                        value_type: Some(Box::new(spark(Kind::Long(Long::default())))),
                        value_contains_null: false,
                        ..Default::default()
                    })),
                    true,
                ),
            ],
            ..Default::default()
        }));
        let arrow = arrow_schema(&schema, "Europe/Paris").unwrap();
        let types: Vec<String> = arrow
            .fields()
            .iter()
            .map(|f| format!("{} {} {}", f.name(), f.data_type(), f.is_nullable()))
            .collect();
        assert_eq!(
            types,
            [
                "id Int64 false",
                "amount Decimal128(38, 18) true",
                "at Timestamp(µs, \"Europe/Paris\") true",
                "local Timestamp(µs) true",
                "tags List(Utf8, field: 'element') true",
                "props Map(\"entries\": non-null Struct(\"key\": non-null Utf8, \"value\": non-null Int64), unsorted) true",
            ]
        );
    }

    #[test]
    fn unreadable_types_name_the_column() {
        let schema = spark(Kind::Struct(Struct {
            fields: vec![field(
                "shape",
                Kind::Unparsed(data_type::Unparsed {
                    data_type_string: "x".into(),
                }),
                true,
            )],
            ..Default::default()
        }));
        let err = arrow_schema(&schema, "UTC").unwrap_err().to_string();
        assert!(
            err.starts_with("column 'shape': a value has Spark type Unparsed"),
            "{err}"
        );
    }
}

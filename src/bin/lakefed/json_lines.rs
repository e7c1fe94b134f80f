//! JSON lines that show every value of every row: a NULL is `null` (never a
//! missing key), binary is base64 text, a float that JSON cannot spell (NaN,
//! ±Infinity) is the string Spark writes for it, decimals keep their exact
//! digits, and MAP keys of any type are JSON strings.

use std::io::Write;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, GenericListArray, MapArray, OffsetSizeTrait, RecordBatch,
    StringBuilder, StructArray,
};
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Float16Type, Float32Type, Float64Type,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::writer::{
    Encoder, EncoderFactory, EncoderOptions, LineDelimitedWriter, NullableEncoder, WriterBuilder,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::Result;

/// Writes batches as JSON lines.
pub struct JsonLines<W: Write> {
    writer: LineDelimitedWriter<W>,
}

impl<W: Write> JsonLines<W> {
    /// JSON lines written to `out`.
    pub fn new(out: W) -> Self {
        let writer = WriterBuilder::new()
            .with_explicit_nulls(true)
            .with_encoder_factory(Arc::new(ExactValues))
            .build(out);
        Self { writer }
    }

    /// Writes every row of `batch`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let columns = batch
            .columns()
            .iter()
            .map(with_string_map_keys)
            .collect::<Result<Vec<_>>>()?;
        let fields: Vec<FieldRef> = batch
            .schema()
            .fields()
            .iter()
            .zip(&columns)
            .map(|(field, column)| retyped(field, column.data_type()))
            .collect();
        let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
        self.writer.write(&RecordBatch::try_new(schema, columns)?)?;
        Ok(())
    }

    /// Finishes the output and returns the writer.
    pub fn finish(mut self) -> Result<W> {
        self.writer.finish()?;
        Ok(self.writer.into_inner())
    }
}

/// `field` with its type replaced by `data_type`.
fn retyped(field: &FieldRef, data_type: &DataType) -> FieldRef {
    match field.data_type() == data_type {
        true => Arc::clone(field),
        false => Arc::new(field.as_ref().clone().with_data_type(data_type.clone())),
    }
}

/// Whether `data_type` holds a MAP whose keys are not strings, at any depth.
fn has_non_string_map_keys(data_type: &DataType) -> bool {
    match data_type {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) => {
                !matches!(
                    fields[0].data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) || has_non_string_map_keys(fields[1].data_type())
            }
            _ => false,
        },
        DataType::List(item) | DataType::LargeList(item) => {
            has_non_string_map_keys(item.data_type())
        }
        DataType::Struct(fields) => fields
            .iter()
            .any(|field| has_non_string_map_keys(field.data_type())),
        _ => false,
    }
}

/// `array` with the keys of every MAP in it turned into their text (binary
/// keys into base64), so JSON can write them as object keys.
fn with_string_map_keys(array: &ArrayRef) -> Result<ArrayRef> {
    if !has_non_string_map_keys(array.data_type()) {
        return Ok(Arc::clone(array));
    }
    match array.data_type() {
        DataType::Map(entries_field, ordered) => {
            let map = array.as_map();
            let keys = key_text(map.keys())?;
            let values = with_string_map_keys(map.values())?;
            let DataType::Struct(entry_fields) = entries_field.data_type() else {
                unreachable!("has_non_string_map_keys checked the entries are a struct")
            };
            let key_field = Arc::new(Field::new(entry_fields[0].name(), DataType::Utf8, false));
            let value_field = retyped(&entry_fields[1], values.data_type());
            let entries = StructArray::try_new(
                vec![key_field, value_field].into(),
                vec![keys, values],
                None,
            )?;
            let entries_field = Arc::new(Field::new(
                entries_field.name(),
                entries.data_type().clone(),
                false,
            ));
            Ok(Arc::new(MapArray::try_new(
                entries_field,
                map.offsets().clone(),
                entries,
                map.nulls().cloned(),
                *ordered,
            )?))
        }
        DataType::List(_) => list_with_string_map_keys(array.as_list::<i32>()),
        DataType::LargeList(_) => list_with_string_map_keys(array.as_list::<i64>()),
        DataType::Struct(fields) => {
            let parent = array.as_struct();
            let columns = parent
                .columns()
                .iter()
                .map(with_string_map_keys)
                .collect::<Result<Vec<_>>>()?;
            let fields: Vec<FieldRef> = fields
                .iter()
                .zip(&columns)
                .map(|(field, column)| retyped(field, column.data_type()))
                .collect();
            Ok(Arc::new(StructArray::try_new(
                fields.into(),
                columns,
                parent.nulls().cloned(),
            )?))
        }
        _ => Ok(Arc::clone(array)),
    }
}

fn list_with_string_map_keys<O: OffsetSizeTrait>(list: &GenericListArray<O>) -> Result<ArrayRef> {
    let values = with_string_map_keys(list.values())?;
    let (DataType::List(item) | DataType::LargeList(item)) = list.data_type() else {
        unreachable!("a list array has a list type")
    };
    Ok(Arc::new(GenericListArray::<O>::try_new(
        retyped(item, values.data_type()),
        list.offsets().clone(),
        values,
        list.nulls().cloned(),
    )?))
}

/// The JSON object key for each MAP key (never null in a MAP).
fn key_text(keys: &ArrayRef) -> Result<ArrayRef> {
    let mut text = StringBuilder::with_capacity(keys.len(), keys.len() * 8);
    if let Some(binary) = binary_values(keys.as_ref()) {
        for row in 0..keys.len() {
            text.append_value(BASE64.encode(binary(row)));
        }
    } else {
        let formatter = ArrayFormatter::try_new(keys.as_ref(), &FormatOptions::default())?;
        for row in 0..keys.len() {
            text.append_value(formatter.value(row).to_string());
        }
    }
    Ok(Arc::new(text.finish()))
}

/// The bytes of row `i` of a binary array, or `None` if `array` is not one.
fn binary_values<'a>(array: &'a dyn Array) -> Option<Box<dyn Fn(usize) -> &'a [u8] + 'a>> {
    Some(match array.data_type() {
        DataType::Binary => Box::new(|i| array.as_binary::<i32>().value(i)),
        DataType::LargeBinary => Box::new(|i| array.as_binary::<i64>().value(i)),
        DataType::BinaryView => Box::new(|i| array.as_binary_view().value(i)),
        DataType::FixedSizeBinary(_) => Box::new(|i| array.as_fixed_size_binary().value(i)),
        _ => return None,
    })
}

/// Encoders for the values JSON has no exact spelling of by default.
#[derive(Debug)]
struct ExactValues;

impl EncoderFactory for ExactValues {
    fn make_default_encoder<'a>(
        &self,
        _field: &'a FieldRef,
        array: &'a dyn Array,
        _options: &'a EncoderOptions,
    ) -> std::result::Result<Option<NullableEncoder<'a>>, ArrowError> {
        let encoder: Box<dyn Encoder + 'a> = if let Some(bytes) = binary_values(array) {
            Box::new(Base64Encoder(bytes))
        } else {
            match array.data_type() {
                DataType::Float16 => {
                    let floats = array.as_primitive::<Float16Type>();
                    Box::new(FloatEncoder(move |i| float_json(floats.value(i).to_f32())))
                }
                DataType::Float32 => {
                    let floats = array.as_primitive::<Float32Type>();
                    Box::new(FloatEncoder(move |i| float_json(floats.value(i))))
                }
                DataType::Float64 => {
                    let floats = array.as_primitive::<Float64Type>();
                    Box::new(FloatEncoder(move |i| float_json(floats.value(i))))
                }
                _ => return Ok(None),
            }
        };
        Ok(Some(NullableEncoder::new(encoder, array.logical_nulls())))
    }
}

/// Binary values as base64 strings.
struct Base64Encoder<'a>(Box<dyn Fn(usize) -> &'a [u8] + 'a>);

impl Encoder for Base64Encoder<'_> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        out.push(b'"');
        out.extend_from_slice(BASE64.encode((self.0)(idx)).as_bytes());
        out.push(b'"');
    }
}

/// Floats as JSON, spelled by [`float_json`].
struct FloatEncoder<F>(F);

impl<F: Fn(usize) -> String> Encoder for FloatEncoder<F> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        out.extend_from_slice((self.0)(idx).as_bytes());
    }
}

/// A float as a JSON number (the shortest text that reads back as the same
/// value), or NaN and ±Infinity as the strings Spark's JSON writer uses for
/// them, since JSON numbers cannot spell them.
fn float_json<T: Into<f64> + Copy + std::fmt::Debug>(value: T) -> String {
    match value.into() {
        v if v.is_nan() => "\"NaN\"".to_string(),
        f64::INFINITY => "\"Infinity\"".to_string(),
        f64::NEG_INFINITY => "\"-Infinity\"".to_string(),
        _ => format!("{value:?}"),
    }
}

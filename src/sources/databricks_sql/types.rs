//! Databricks SQL types, as the Statement Execution API's manifest and Unity
//! Catalog's `type_text` write them (`DECIMAL(10,2)`, `ARRAY<INT>`,
//! `STRUCT<a: INT NOT NULL, b: STRING>`, `INTERVAL DAY TO SECOND`), to the
//! Arrow types their `ARROW_STREAM` results carry. Databricks' types are
//! Spark's, written to Arrow by Spark's own writer, so the mapping is the one
//! of the Spark Connect source.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, IntervalUnit, TimeUnit};

use crate::error::{Error, Result};
use crate::remote::sql::CHAR_LENGTH_KEY;

/// The zone lakefed plans `TIMESTAMP` columns in: an instant, whatever zone
/// the warehouse writes in its results (the scan accepts any zone label).
pub const TIMESTAMP_ZONE: &str = "UTC";

/// The Arrow field of a column named `name` of type `type_text`.
pub fn arrow_field(name: &str, type_text: &str, nullable: bool) -> Result<Field> {
    let mut parser = Parser::new(type_text);
    let parsed = parser.data_type().and_then(|parsed| {
        parser.end()?;
        Ok(parsed)
    });
    let (data_type, char_length) = parsed.map_err(|message| {
        Error::InvalidArgument(format!(
            "column '{name}': cannot read the type '{type_text}': {message}"
        ))
    })?;
    Ok(with_char_length(
        Field::new(name, data_type, nullable),
        char_length,
    ))
}

/// `field`, marked as a `CHAR(n)` column when it is one.
fn with_char_length(field: Field, char_length: Option<i64>) -> Field {
    match char_length {
        Some(length) => {
            field.with_metadata([(CHAR_LENGTH_KEY.to_string(), length.to_string())].into())
        }
        None => field,
    }
}

/// A recursive-descent reader of one type text.
struct Parser<'a> {
    text: &'a str,
    position: usize,
}

type Parsed<T> = std::result::Result<T, String>;

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, position: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.position..]
    }

    fn skip_spaces(&mut self) {
        let trimmed = self.rest().trim_start();
        self.position = self.text.len() - trimmed.len();
    }

    /// Consumes `symbol` if it comes next.
    fn eat(&mut self, symbol: char) -> bool {
        self.skip_spaces();
        if self.rest().starts_with(symbol) {
            self.position += symbol.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, symbol: char) -> Parsed<()> {
        if self.eat(symbol) {
            Ok(())
        } else {
            Err(format!("expected '{symbol}' at '{}'", self.rest()))
        }
    }

    fn end(&mut self) -> Parsed<()> {
        self.skip_spaces();
        if self.rest().is_empty() {
            Ok(())
        } else {
            Err(format!("unexpected '{}'", self.rest()))
        }
    }

    /// A keyword or a plain identifier.
    fn word(&mut self) -> Parsed<&'a str> {
        self.skip_spaces();
        let rest = self.rest();
        let length = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if length == 0 {
            return Err(format!("expected a name at '{rest}'"));
        }
        self.position += length;
        Ok(&rest[..length])
    }

    /// Consumes the keyword `word` (any case) if it comes next.
    fn eat_word(&mut self, word: &str) -> bool {
        let saved = self.position;
        match self.word() {
            Ok(found) if found.eq_ignore_ascii_case(word) => true,
            _ => {
                self.position = saved;
                false
            }
        }
    }

    fn number(&mut self) -> Parsed<i64> {
        let word = self.word()?;
        word.parse()
            .map_err(|_| format!("expected a number, not '{word}'"))
    }

    /// A struct field's name: plain or in backquotes (doubled inside).
    fn field_name(&mut self) -> Parsed<String> {
        self.skip_spaces();
        if !self.rest().starts_with('`') {
            return self.word().map(str::to_string);
        }
        self.position += 1;
        let mut name = String::new();
        loop {
            let rest = self.rest();
            let Some(end) = rest.find('`') else {
                return Err("unterminated quoted name".to_string());
            };
            name.push_str(&rest[..end]);
            self.position += end + 1;
            if self.rest().starts_with('`') {
                name.push('`');
                self.position += 1;
            } else {
                return Ok(name);
            }
        }
    }

    /// A string literal in single quotes (a field's comment), skipped.
    fn skip_string(&mut self) -> Parsed<()> {
        self.expect('\'')?;
        let mut escaped = false;
        for (offset, c) in self.rest().char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '\'') => {
                    self.position += offset + 1;
                    return Ok(());
                }
                _ => {}
            }
        }
        Err("unterminated comment".to_string())
    }

    /// A type, and the length of a `CHAR(n)`.
    fn data_type(&mut self) -> Parsed<(DataType, Option<i64>)> {
        let name = self.word()?.to_ascii_lowercase();
        let plain = |data_type| Ok((data_type, None));
        match name.as_str() {
            "boolean" => plain(DataType::Boolean),
            "tinyint" | "byte" => plain(DataType::Int8),
            "smallint" | "short" => plain(DataType::Int16),
            "int" | "integer" => plain(DataType::Int32),
            "bigint" | "long" => plain(DataType::Int64),
            "float" | "real" => plain(DataType::Float32),
            "double" => plain(DataType::Float64),
            "decimal" | "dec" | "numeric" => {
                let (mut precision, mut scale) = (10, 0);
                if self.eat('(') {
                    precision = self.number()?;
                    if self.eat(',') {
                        scale = self.number()?;
                    }
                    self.expect(')')?;
                }
                match (u8::try_from(precision), i8::try_from(scale)) {
                    (Ok(p), Ok(s)) if (1..=38).contains(&p) && s >= 0 && s as u8 <= p => {
                        plain(DataType::Decimal128(p, s))
                    }
                    _ => Err(format!("no decimal({precision},{scale})")),
                }
            }
            "string" => plain(DataType::Utf8),
            "char" | "varchar" => {
                self.expect('(')?;
                let length = self.number()?;
                self.expect(')')?;
                Ok((DataType::Utf8, (name == "char").then_some(length)))
            }
            "binary" => plain(DataType::Binary),
            "date" => plain(DataType::Date32),
            "timestamp" | "timestamp_ltz" => plain(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some(Arc::from(TIMESTAMP_ZONE)),
            )),
            "timestamp_ntz" => plain(DataType::Timestamp(TimeUnit::Microsecond, None)),
            "void" | "null" => plain(DataType::Null),
            "interval" => self.interval().map(|t| (t, None)),
            "array" => {
                self.expect('<')?;
                let (element, _) = self.data_type()?;
                self.expect('>')?;
                plain(DataType::List(Arc::new(Field::new(
                    "element", element, true,
                ))))
            }
            "map" => {
                self.expect('<')?;
                let (key, _) = self.data_type()?;
                self.expect(',')?;
                let (value, _) = self.data_type()?;
                self.expect('>')?;
                let entries = Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", key, false),
                        Field::new("value", value, true),
                    ])),
                    false,
                );
                plain(DataType::Map(Arc::new(entries), false))
            }
            "struct" => self
                .struct_fields()
                .map(|fields| (DataType::Struct(fields), None)),
            // A variant travels as its two binary encodings.
            "variant" => plain(DataType::Struct(Fields::from(vec![
                Field::new("value", DataType::Binary, false),
                Field::new("metadata", DataType::Binary, false),
            ]))),
            other => Err(format!("unknown type '{other}'")),
        }
    }

    /// `<name: type [NOT NULL] [COMMENT '..'], ...>`
    fn struct_fields(&mut self) -> Parsed<Fields> {
        self.expect('<')?;
        let mut fields = Vec::new();
        if self.eat('>') {
            return Ok(Fields::from(fields));
        }
        loop {
            let name = self.field_name()?;
            self.expect(':')?;
            let (data_type, char_length) = self.data_type()?;
            let nullable = !(self.eat_word("not") && self.eat_word("null"));
            if self.eat_word("comment") {
                self.skip_string()?;
            }
            fields.push(with_char_length(
                Field::new(name, data_type, nullable),
                char_length,
            ));
            if self.eat('>') {
                return Ok(Fields::from(fields));
            }
            self.expect(',')?;
        }
    }

    /// `YEAR [TO MONTH]`, `MONTH`: months; `DAY|HOUR|MINUTE|SECOND [TO ..]`:
    /// microseconds, as Spark writes them.
    fn interval(&mut self) -> Parsed<DataType> {
        let start = self.word()?.to_ascii_lowercase();
        if self.eat_word("to") {
            self.word()?;
        }
        match start.as_str() {
            "year" | "month" => Ok(DataType::Interval(IntervalUnit::YearMonth)),
            "day" | "hour" | "minute" | "second" => Ok(DataType::Duration(TimeUnit::Microsecond)),
            other => Err(format!("unknown interval field '{other}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> DataType {
        arrow_field("c", text, true).unwrap().data_type().clone()
    }

    #[test]
    fn every_spark_type_text_maps_to_the_arrow_type_spark_writes() {
        assert_eq!(parse("INT"), DataType::Int32);
        assert_eq!(parse("bigint"), DataType::Int64);
        assert_eq!(parse("DECIMAL(38,18)"), DataType::Decimal128(38, 18));
        assert_eq!(parse("decimal"), DataType::Decimal128(10, 0));
        assert_eq!(
            parse("timestamp_ntz"),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(
            parse("INTERVAL DAY TO SECOND"),
            DataType::Duration(TimeUnit::Microsecond)
        );
        assert_eq!(
            parse("interval year to month"),
            DataType::Interval(IntervalUnit::YearMonth)
        );
        let DataType::List(element) = parse("ARRAY<ARRAY<STRING>>") else {
            panic!("not a list")
        };
        assert!(matches!(element.data_type(), DataType::List(_)));
        let DataType::Map(entries, _) = parse("MAP<STRING, DECIMAL(5,2)>") else {
            panic!("not a map")
        };
        let DataType::Struct(kv) = entries.data_type() else {
            panic!("no entries")
        };
        assert_eq!(kv[1].data_type(), &DataType::Decimal128(5, 2));
        let DataType::Struct(fields) =
            parse("struct<a:int NOT NULL,`b c``d`:string COMMENT 'it\\'s, <odd>',e:char(3)>")
        else {
            panic!("not a struct")
        };
        assert_eq!(fields.len(), 3);
        assert!(!fields[0].is_nullable());
        assert_eq!(fields[1].name(), "b c`d");
        assert_eq!(fields[2].metadata().get(CHAR_LENGTH_KEY).unwrap(), "3");
        let field = arrow_field("c", "CHAR(5)", false).unwrap();
        assert_eq!(field.metadata().get(CHAR_LENGTH_KEY).unwrap(), "5");
    }

    #[test]
    fn unreadable_types_are_errors_naming_the_column() {
        for bad in ["decimal(40,2)", "array<int", "geometry", "int extra"] {
            let err = arrow_field("col", bad, true).unwrap_err().to_string();
            assert!(err.contains("column 'col'") && err.contains(bad), "{err}");
        }
    }
}

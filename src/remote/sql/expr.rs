//! The expressions lakefed renders as Spark SQL: an allow-list of what Spark
//! evaluates exactly as DataFusion does. Anything else renders as `None` and
//! stays in DataFusion; it never fails a query.
//!
//! - column references, and literals of integer, decimal, string, binary,
//!   boolean, date and timestamp types;
//! - comparisons (`=`, `<>`, `<`, `<=`, `>`, `>=`, `IS [NOT] DISTINCT FROM`),
//!   `BETWEEN` and `IN` lists over [comparable](is_comparable) types. Never
//!   over floating point: DataFusion orders floats totally (`-0.0 < 0.0`,
//!   `NaN = NaN`), Spark treats `-0.0 = 0.0`;
//! - `AND`, `OR`, `NOT`, `IS [NOT] NULL`, `IS [NOT] TRUE|FALSE|UNKNOWN`,
//!   `CASE`, `coalesce`;
//! - `LIKE` with a literal pattern whose only escapes are `\%`, `\_`, `\\`
//!   (Spark rejects other escapes, DataFusion accepts them);
//! - `+`, `-`, `*` and unary `-` over integers, floats and decimals, when
//!   both engines compute the exact result at the same scale (see
//!   `arithmetic_is_exact`). Not `/` or `%`: `int / int`
//!   truncates in DataFusion and gives a double in Spark, and division by
//!   zero differs for floats. Integer overflow is an error in both engines:
//!   Spark (ANSI mode, the default) raises `ARITHMETIC_OVERFLOW`, and
//!   lakefed's checked operators ([`crate::semantics::arithmetic`]), which
//!   render as the plain ones, fail locally;
//! - unary `-` and `abs` over integers, floats and decimals of at most 34
//!   digits (Spark rounds larger ones to 34 significant digits); `||`,
//!   `upper`, `lower` and `character_length` over strings (Unicode case
//!   mapping and code point counts, checked against Spark on strings from
//!   every plane);
//! - casts that keep every value exactly (integer widening, integer or
//!   decimal to a wider decimal, integer or `FLOAT` to `DOUBLE`);
//! - aggregates `count` (also `DISTINCT`), `sum` and `avg` over integers and
//!   floats (`sum` also over decimals), `min` and `max` over comparable
//!   types, each with an optional `FILTER (WHERE ..)`. Not `avg` over
//!   decimals: DataFusion truncates the last digit, Spark rounds half up;
//! - window functions `row_number`, `rank`, `dense_rank`, and `count`, `sum`,
//!   `min`, `max`, `avg` (as above) over the default frame or a `ROWS` frame;
//!   not over floats in a sliding frame (servers that subtract the values
//!   leaving the frame turn an infinity into NaN).
//!
//! Sort keys always carry `NULLS FIRST` or `NULLS LAST` (the engines'
//! defaults differ) and, like grouping, join and partition keys, must be
//! comparable. Nothing compares a Spark `CHAR(n)` column remotely: Spark
//! pads the other side first.

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::logical_expr::expr::{
    AggregateFunction, AggregateFunctionParams, Alias, Case, InList, Like, ScalarFunction,
    WindowFunction, WindowFunctionParams,
};
use datafusion::logical_expr::{
    Between, BinaryExpr, Cast, Expr, ExprSchemable, Operator, SortExpr, WindowFrame,
    WindowFrameBound, WindowFrameUnits, WindowFunctionDefinition,
};

use super::{CHAR_LENGTH_KEY, literal, object_reference, string_literal};
use crate::semantics::arithmetic::CheckedArithmetic;

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
    let column = |column: &Column| {
        schema.field_with_unqualified_name(&column.name).ok()?;
        Some(object_reference(&[&column.name]))
    };
    ExprRenderer::new(schema, &column).predicate(&unqualified)
}

/// Whether values of `data_type` compare, group and sort the same way in
/// both engines.
pub fn is_comparable(data_type: &DataType) -> bool {
    data_type.is_integer()
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
        )
}

/// Renders expressions over one input (`schema`), whose columns appear in
/// the generated SQL as `column` says.
pub(crate) struct ExprRenderer<'a> {
    schema: &'a DFSchema,
    column: &'a dyn Fn(&Column) -> Option<String>,
}

impl<'a> ExprRenderer<'a> {
    /// A renderer for expressions over `schema`.
    pub(crate) fn new(schema: &'a DFSchema, column: &'a dyn Fn(&Column) -> Option<String>) -> Self {
        Self { schema, column }
    }

    /// A boolean expression.
    pub(crate) fn predicate(&self, expr: &Expr) -> Option<String> {
        (self.type_of(expr)? == DataType::Boolean).then(|| self.value(expr))?
    }

    /// A grouping, join or partition key, or an operand of a comparison.
    /// Never over a Spark `CHAR(n)` column: Spark compares those padded to
    /// the longer side (`'ab   ' = 'ab'`), DataFusion compares the values.
    pub(crate) fn key(&self, expr: &Expr) -> Option<String> {
        let char_column = expr.column_refs().into_iter().any(|column| {
            self.schema
                .qualified_field_from_column(column)
                .is_ok_and(|(_, field)| field.metadata().contains_key(CHAR_LENGTH_KEY))
        });
        if char_column {
            return None;
        }
        is_comparable(&self.type_of(expr)?).then(|| self.value(expr))?
    }

    /// A sort key with its direction and explicit null placement.
    pub(crate) fn sort(&self, sort: &SortExpr) -> Option<String> {
        Some(format!(
            "{} {} NULLS {}",
            self.key(&sort.expr)?,
            if sort.asc { "ASC" } else { "DESC" },
            if sort.nulls_first { "FIRST" } else { "LAST" }
        ))
    }

    /// Any expression on the allow-list.
    pub(crate) fn value(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Column(column) => (self.column)(column),
            Expr::Literal(value, _) => literal(value),
            Expr::Alias(Alias { expr, .. }) => self.value(expr),
            Expr::Cast(Cast { expr: inner, field }) => {
                let from = self.type_of(inner)?;
                if &from == field.data_type() {
                    return self.value(inner);
                }
                let spark_type = exact_cast(&from, field.data_type())?;
                Some(format!("CAST({} AS {spark_type})", self.value(inner)?))
            }
            Expr::BinaryExpr(binary) => self.binary(binary),
            Expr::Negative(inner) => {
                exact_sign_change(&self.type_of(inner)?).then_some(())?;
                Some(format!("(- {})", self.value(inner)?))
            }
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
                self.key(expr)?,
                if *negated { "NOT " } else { "" },
                self.key(low)?,
                self.key(high)?
            )),
            Expr::InList(InList {
                expr,
                list,
                negated,
            }) => {
                let items = list
                    .iter()
                    .map(|item| self.key(item))
                    .collect::<Option<Vec<_>>>()?;
                Some(format!(
                    "({} {}IN ({}))",
                    self.key(expr)?,
                    if *negated { "NOT " } else { "" },
                    items.join(", ")
                ))
            }
            Expr::Like(like) => self.like(like),
            Expr::Case(case) => self.case(case),
            Expr::ScalarFunction(function) => self.function(function),
            _ => None,
        }
    }

    fn binary(&self, BinaryExpr { left, op, right }: &BinaryExpr) -> Option<String> {
        let operands = |render: fn(&Self, &Expr) -> Option<String>| {
            Some((render(self, left)?, render(self, right)?))
        };
        match op {
            Operator::And | Operator::Or => {
                let (l, r) = operands(Self::predicate)?;
                Some(format!("({l} {op} {r})"))
            }
            Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq => {
                let (l, r) = operands(Self::key)?;
                Some(format!("({l} {op} {r})"))
            }
            Operator::IsNotDistinctFrom => {
                let (l, r) = operands(Self::key)?;
                Some(format!("({l} <=> {r})"))
            }
            Operator::IsDistinctFrom => {
                let (l, r) = operands(Self::key)?;
                Some(format!("(NOT ({l} <=> {r}))"))
            }
            Operator::Plus | Operator::Minus | Operator::Multiply => {
                let result = self.type_of(&Expr::BinaryExpr(BinaryExpr::new(
                    left.clone(),
                    *op,
                    right.clone(),
                )))?;
                arithmetic_is_exact(*op, &self.type_of(left)?, &self.type_of(right)?, &result)
                    .then_some(())?;
                let (l, r) = operands(Self::value)?;
                Some(format!("({l} {op} {r})"))
            }
            Operator::StringConcat => {
                let is_string = |expr: &Expr| {
                    matches!(
                        self.type_of(expr),
                        Some(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
                    )
                };
                (is_string(left) && is_string(right)).then_some(())?;
                let (l, r) = operands(Self::value)?;
                Some(format!("({l} || {r})"))
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
            self.key(expr)?,
            if *negated { "NOT " } else { "" },
            string_literal(pattern_text)
        ))
    }

    fn case(&self, case: &Case) -> Option<String> {
        let mut sql = String::from("(CASE");
        if let Some(base) = &case.expr {
            sql.push(' ');
            sql.push_str(&self.key(base)?);
        }
        for (when, then) in &case.when_then_expr {
            let when = match case.expr {
                Some(_) => self.key(when)?,
                None => self.predicate(when)?,
            };
            sql.push_str(&format!(" WHEN {when} THEN {}", self.value(then)?));
        }
        if let Some(otherwise) = &case.else_expr {
            sql.push_str(&format!(" ELSE {}", self.value(otherwise)?));
        }
        sql.push_str(" END)");
        Some(sql)
    }

    fn function(&self, function: &ScalarFunction) -> Option<String> {
        let args = &function.args;
        // lakefed's checked operators: Spark's own raise on overflow too.
        if let Some(operator) = CheckedArithmetic::operator(&function.func) {
            return match (operator, args.as_slice()) {
                (Some(op), [l, r]) => self.binary(&BinaryExpr::new(
                    Box::new(l.clone()),
                    op,
                    Box::new(r.clone()),
                )),
                (None, [inner]) => self.value(&Expr::Negative(Box::new(inner.clone()))),
                _ => None,
            };
        }
        match function.name() {
            "coalesce" if !args.is_empty() => {
                // Spark widens mixed argument types its own way: only one type.
                let first = self.type_of(&args[0])?;
                let mut rendered = Vec::with_capacity(args.len());
                for arg in args {
                    (self.type_of(arg)? == first).then_some(())?;
                    rendered.push(self.value(arg)?);
                }
                Some(format!("coalesce({})", rendered.join(", ")))
            }
            // Unicode case mapping and code point counts: checked against
            // Spark on random strings from every plane (spark_pushdown.rs).
            "upper" | "lower" | "character_length" if args.len() == 1 => {
                let is_string = matches!(
                    self.type_of(&args[0])?,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                );
                is_string.then_some(())?;
                let name = match function.name() {
                    "character_length" => "char_length",
                    name => name,
                };
                Some(format!("{name}({})", self.value(&args[0])?))
            }
            "abs" if args.len() == 1 => {
                let data_type = self.type_of(&args[0])?;
                (!data_type.is_floating() && exact_sign_change(&data_type)).then_some(())?;
                Some(format!("abs({})", self.value(&args[0])?))
            }
            _ => None,
        }
    }

    /// An aggregate function call (possibly aliased) for a `SELECT` list.
    pub(crate) fn aggregate(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Alias(Alias { expr, .. }) => self.aggregate(expr),
            Expr::AggregateFunction(AggregateFunction { func, params }) => {
                let AggregateFunctionParams {
                    args,
                    distinct,
                    filter,
                    order_by,
                    null_treatment,
                } = params;
                if !order_by.is_empty() || null_treatment.is_some() {
                    return None;
                }
                let call = self.aggregate_call(func.name(), args, *distinct)?;
                Some(match filter {
                    Some(filter) => format!("{call} FILTER (WHERE {})", self.predicate(filter)?),
                    None => call,
                })
            }
            _ => None,
        }
    }

    /// `name(args)` for the aggregates Spark computes as DataFusion does.
    fn aggregate_call(&self, name: &str, args: &[Expr], distinct: bool) -> Option<String> {
        let types = args
            .iter()
            .map(|arg| self.type_of(arg))
            .collect::<Option<Vec<_>>>()?;
        let allowed = match (name, types.as_slice()) {
            ("count", [_, ..]) => !distinct || types.iter().all(is_comparable),
            ("sum", [t]) => {
                (t.is_integer() || t.is_floating() || matches!(t, DataType::Decimal128(..)))
                    && !(distinct && t.is_floating())
            }
            ("avg", [t]) => (t.is_integer() || t.is_floating()) && !distinct,
            ("min" | "max", [t]) => is_comparable(t),
            _ => false,
        };
        if !allowed {
            return None;
        }
        let rendered = args
            .iter()
            .map(|arg| self.value(arg))
            .collect::<Option<Vec<_>>>()?;
        Some(format!(
            "{name}({}{})",
            if distinct { "DISTINCT " } else { "" },
            rendered.join(", ")
        ))
    }

    /// A window function call (possibly aliased) for a `SELECT` list.
    pub(crate) fn window(&self, expr: &Expr) -> Option<String> {
        let function = match expr {
            Expr::Alias(Alias { expr, .. }) => return self.window(expr),
            Expr::WindowFunction(function) => function.as_ref(),
            _ => return None,
        };
        let WindowFunction { fun, params } = function;
        let WindowFunctionParams {
            args,
            partition_by,
            order_by,
            window_frame,
            filter,
            null_treatment,
            distinct,
        } = params;
        if filter.is_some() || null_treatment.is_some() || *distinct {
            return None;
        }
        let (call, ranking) = match fun {
            WindowFunctionDefinition::WindowUDF(udf)
                if args.is_empty()
                    && matches!(udf.name(), "row_number" | "rank" | "dense_rank") =>
            {
                (format!("{}()", udf.name()), true)
            }
            WindowFunctionDefinition::AggregateUDF(udaf) => {
                // Over a sliding frame, floats depend on how the server
                // moves it: Spark adds the frame up afresh, others (Sail)
                // subtract what leaves, which turns inf into NaN. Local
                // execution adds it up (`crate::semantics::aggregate`).
                let floats = args
                    .iter()
                    .any(|arg| self.type_of(arg).is_some_and(|t| t.is_floating()));
                if floats && !window_frame.is_ever_expanding() {
                    return None;
                }
                (self.aggregate_call(udaf.name(), args, false)?, false)
            }
            _ => return None,
        };
        let mut over = Vec::new();
        if !partition_by.is_empty() {
            let keys = partition_by
                .iter()
                .map(|key| self.key(key))
                .collect::<Option<Vec<_>>>()?;
            over.push(format!("PARTITION BY {}", keys.join(", ")));
        }
        if !order_by.is_empty() {
            let keys = order_by
                .iter()
                .map(|key| self.sort(key))
                .collect::<Option<Vec<_>>>()?;
            over.push(format!("ORDER BY {}", keys.join(", ")));
        }
        // Ranking functions take no frame in Spark (it rejects any but its own).
        if !ranking && let Some(frame) = frame(window_frame, !order_by.is_empty())? {
            over.push(frame);
        }
        Some(format!("{call} OVER ({})", over.join(" ")))
    }

    fn type_of(&self, expr: &Expr) -> Option<DataType> {
        expr.get_type(self.schema).ok()
    }
}

/// The frame clause for a window, `Some(None)` when both engines' default
/// frame is meant, `None` when Spark cannot express it the same way.
fn frame(frame: &WindowFrame, ordered: bool) -> Option<Option<String>> {
    let unbounded = |bound: &WindowFrameBound| match bound {
        WindowFrameBound::Preceding(value) | WindowFrameBound::Following(value) => value.is_null(),
        WindowFrameBound::CurrentRow => false,
    };
    let whole_partition = unbounded(&frame.start_bound) && unbounded(&frame.end_bound);
    let to_current_row = unbounded(&frame.start_bound)
        && matches!(frame.end_bound, WindowFrameBound::CurrentRow)
        && frame.units == WindowFrameUnits::Range;
    if to_current_row || (!ordered && whole_partition) {
        return Some(None);
    }
    if frame.units != WindowFrameUnits::Rows {
        return None;
    }
    let bound = |bound: &WindowFrameBound| -> Option<String> {
        Some(match bound {
            WindowFrameBound::CurrentRow => "CURRENT ROW".to_string(),
            WindowFrameBound::Preceding(v) if v.is_null() => "UNBOUNDED PRECEDING".to_string(),
            WindowFrameBound::Following(v) if v.is_null() => "UNBOUNDED FOLLOWING".to_string(),
            WindowFrameBound::Preceding(ScalarValue::UInt64(Some(n))) => format!("{n} PRECEDING"),
            WindowFrameBound::Following(ScalarValue::UInt64(Some(n))) => format!("{n} FOLLOWING"),
            _ => return None,
        })
    };
    Some(Some(format!(
        "ROWS BETWEEN {} AND {}",
        bound(&frame.start_bound)?,
        bound(&frame.end_bound)?
    )))
}

/// Whether Spark negates (and takes the absolute value of) values of
/// `data_type` exactly: signed integers, floats, and decimals of at most 34
/// digits. Past that, Spark rounds the result to 34 significant digits
/// (Scala's `BigDecimal` context) and may then raise
/// `NUMERIC_VALUE_OUT_OF_RANGE`, where DataFusion is exact.
fn exact_sign_change(data_type: &DataType) -> bool {
    match data_type {
        DataType::Decimal128(precision, _) => *precision <= 34,
        other => other.is_signed_integer() || other.is_floating(),
    }
}

/// Whether Spark computes `left op right` (`+`, `-`, `*`; operands already
/// of the types DataFusion coerced them to) to the same value as DataFusion,
/// whose result type is `result`: equal integer or float types, or decimals
/// whose exact result keeps its scale in both engines. DataFusion caps the
/// precision at 38 and keeps the scale; Spark, past 38 digits, may cut the
/// scale down to 6 (`allowPrecisionLoss`), so a result of more than 38
/// digits is sent only when its scale is at most 6.
fn arithmetic_is_exact(op: Operator, left: &DataType, right: &DataType, result: &DataType) -> bool {
    match (left, right) {
        (l, r) if l == r && (l.is_signed_integer() || l.is_floating()) => result == l,
        (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) if *s1 >= 0 && *s2 >= 0 => {
            let (p1, s1, p2, s2) = (*p1 as i32, *s1 as i32, *p2 as i32, *s2 as i32);
            let (precision, scale) = match op {
                Operator::Multiply => (p1 + p2 + 1, s1 + s2),
                _ => {
                    let scale = s1.max(s2);
                    (scale + (p1 - s1).max(p2 - s2) + 1, scale)
                }
            };
            let datafusion = DataType::Decimal128(precision.min(38) as u8, scale as i8);
            result == &datafusion && scale <= 38 && (precision <= 38 || scale <= 6)
        }
        _ => false,
    }
}

/// The Spark type of a cast that keeps every value exactly (no rounding, no
/// overflow) in both engines: integer widening, integer or decimal to a
/// decimal with at least as many integer and fraction digits, integer or
/// `FLOAT` to `DOUBLE` (both round to nearest).
fn exact_cast(from: &DataType, to: &DataType) -> Option<String> {
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
        (from, DataType::Float64) if from.is_signed_integer() || from == &DataType::Float32 => {
            Some("DOUBLE".to_string())
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
    fn like_escapes_must_be_portable() {
        assert!(escapes_are_portable(r"a\%b\_c\\"));
        assert!(!escapes_are_portable(r"a\b"));
        assert!(!escapes_are_portable("trailing\\"));
    }

    #[test]
    fn decimal_arithmetic_only_where_spark_keeps_the_scale() {
        let d = |p, s| DataType::Decimal128(p, s);
        let exact = |op, l, r, result| arithmetic_is_exact(op, &l, &r, &result);
        assert!(exact(Operator::Multiply, d(15, 2), d(15, 2), d(31, 4)));
        assert!(exact(Operator::Plus, d(10, 2), d(5, 4), d(13, 4)));
        // 39 digits: Spark keeps scale 4 (at most 6), as DataFusion does.
        assert!(exact(Operator::Multiply, d(15, 2), d(23, 2), d(38, 4)));
        // 61 digits at scale 20: Spark would cut the scale to 6.
        assert!(!exact(Operator::Multiply, d(30, 10), d(30, 10), d(38, 20)));
        assert!(!exact(
            Operator::Plus,
            DataType::Int32,
            DataType::Int64,
            DataType::Int64
        ));
    }
}

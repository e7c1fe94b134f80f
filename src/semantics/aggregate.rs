//! Aggregates whose answers do not depend on how they were evaluated.
//!
//! - `sum` over integers and decimals raises on overflow, as Spark (ANSI
//!   mode) does. DataFusion's wraps around, and over `DECIMAL(38, s)` it
//!   returns 39-digit values that are no valid decimal at all.
//! - `sum`, `avg`, the variances and the standard deviations over floats in
//!   a sliding window frame (`ROWS BETWEEN 1 PRECEDING AND CURRENT ROW`)
//!   are computed from the frame's values in row order, as Spark does,
//!   rather than by subtracting the values that left the frame:
//!   DataFusion's retraction turns the result into NaN for good once an
//!   infinity or NaN has left the frame (`inf - inf`), and loses small
//!   values next to large ones that have left. The cost is the frame's
//!   length per row, as in Spark.
//! - Spark's names `variance` (for `var_samp`) and `std` (for `stddev`)
//!   are accepted.
//!
//! [`ExactAggregate`] wraps DataFusion's own function under its name and
//! replaces only these accumulators; registered in its place, it is what
//! SQL's `sum`, `avg`, `var_samp`, ... call.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, PrimitiveArray};
use datafusion::arrow::compute::sum_checked;
use datafusion::arrow::datatypes::{
    ArrowNativeType, ArrowNativeTypeOp, ArrowPrimitiveType, DataType, Decimal128Type, FieldRef,
    Float64Type, Int64Type, UInt64Type,
};
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err};
use datafusion::functions_aggregate::average::avg_udaf;
use datafusion::functions_aggregate::stddev::{stddev_pop_udaf, stddev_udaf};
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::functions_aggregate::variance::{var_pop_udaf, var_samp_udaf};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    ReversedUDAF, SetMonotonicity, Signature,
};
use datafusion_functions_aggregate_common::aggregate::groups_accumulator::prim_op::PrimitiveGroupsAccumulator;

/// What an [`ExactAggregate`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Statistic {
    Sum,
    Avg,
    /// The variance, of the sample or of the population, or its square
    /// root (the standard deviation).
    Variance {
        population: bool,
        root: bool,
    },
}

/// One of DataFusion's aggregates, with the accumulators described in the
/// [module documentation](self).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ExactAggregate {
    inner: Arc<AggregateUDF>,
    statistic: Statistic,
    aliases: Vec<String>,
}

impl ExactAggregate {
    /// `inner`, computing `statistic`, also known as `spark_names`.
    fn new(inner: Arc<AggregateUDF>, statistic: Statistic, spark_names: &[&str]) -> Self {
        let mut aliases = inner.aliases().to_vec();
        aliases.extend(spark_names.iter().map(|name| name.to_string()));
        Self {
            inner,
            statistic,
            aliases,
        }
    }

    /// `sum`: checked over integers and decimals, exact over float frames.
    pub fn sum() -> Self {
        Self::new(sum_udaf(), Statistic::Sum, &[])
    }

    /// `avg`: exact over float frames.
    pub fn avg() -> Self {
        Self::new(avg_udaf(), Statistic::Avg, &[])
    }

    /// `var_samp`, also `variance`: exact over float frames.
    pub fn var_samp() -> Self {
        let statistic = Statistic::Variance {
            population: false,
            root: false,
        };
        Self::new(var_samp_udaf(), statistic, &["variance"])
    }

    /// `var_pop`: exact over float frames.
    pub fn var_pop() -> Self {
        let statistic = Statistic::Variance {
            population: true,
            root: false,
        };
        Self::new(var_pop_udaf(), statistic, &[])
    }

    /// `stddev`, also `stddev_samp` and `std`: exact over float frames.
    pub fn stddev() -> Self {
        let statistic = Statistic::Variance {
            population: false,
            root: true,
        };
        Self::new(stddev_udaf(), statistic, &["std"])
    }

    /// `stddev_pop`: exact over float frames.
    pub fn stddev_pop() -> Self {
        let statistic = Statistic::Variance {
            population: true,
            root: true,
        };
        Self::new(stddev_pop_udaf(), statistic, &[])
    }

    /// Whether this is a `sum` that checks overflow for `args`.
    fn checks_overflow(&self, args: &AccumulatorArgs) -> bool {
        self.statistic == Statistic::Sum && !args.is_distinct
    }

    /// The checked accumulator for a `sum` of `args`, when it needs one.
    fn checked_sum(&self, args: &AccumulatorArgs) -> Option<Box<dyn Accumulator>> {
        if !self.checks_overflow(args) {
            return None;
        }
        let data_type = args.return_field.data_type().clone();
        Some(match data_type {
            DataType::Int64 => Box::new(CheckedSum::<Int64Type>::new(data_type)),
            DataType::UInt64 => Box::new(CheckedSum::<UInt64Type>::new(data_type)),
            DataType::Decimal128(..) => Box::new(CheckedSum::<Decimal128Type>::new(data_type)),
            _ => return None,
        })
    }
}

impl AggregateUDFImpl for ExactAggregate {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.inner().return_type(arg_types)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.inner.return_field(arg_fields)
    }

    fn is_nullable(&self) -> bool {
        self.inner.is_nullable()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        match self.checked_sum(&args) {
            Some(accumulator) => Ok(accumulator),
            None => self.inner.accumulator(args),
        }
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let float_input = args
            .expr_fields
            .first()
            .is_some_and(|field| field.data_type() == &DataType::Float64);
        if float_input && !args.is_distinct {
            return Ok(Box::new(FrameFloatAccumulator::new(self.statistic)));
        }
        match self.checked_sum(&args) {
            Some(accumulator) => Ok(accumulator),
            None => self.inner.create_sliding_accumulator(args),
        }
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        if !self.checks_overflow(&args) {
            return self.inner.create_groups_accumulator(args);
        }
        let data_type = args.return_field.data_type().clone();
        match data_type {
            DataType::Int64 => Ok(CheckedGroupsSum::boxed::<Int64Type>(data_type)),
            DataType::UInt64 => Ok(CheckedGroupsSum::boxed::<UInt64Type>(data_type)),
            DataType::Decimal128(..) => Ok(CheckedGroupsSum::boxed::<Decimal128Type>(data_type)),
            _ => self.inner.create_groups_accumulator(args),
        }
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.inner.inner().order_sensitivity()
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        // DataFusion's `sum`, `avg` and variances are their own reverse: so
        // is this.
        match self.inner.reverse_udf() {
            ReversedUDAF::Reversed(_) | ReversedUDAF::Identical => ReversedUDAF::Identical,
            ReversedUDAF::NotSupported => ReversedUDAF::NotSupported,
        }
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.inner.default_value(data_type)
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.inner.inner().set_monotonicity(data_type)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// The error for a sum that left its type.
fn overflow(data_type: &DataType) -> DataFusionError {
    DataFusionError::Execution(format!(
        "arithmetic overflow: sum does not fit in {data_type}"
    ))
}

/// Fails when a decimal of `sums` needs more digits than `data_type` has.
fn check_precision(sums: &dyn Array, data_type: &DataType) -> Result<()> {
    if let DataType::Decimal128(precision, _) = data_type {
        let decimals = sums
            .as_any()
            .downcast_ref::<PrimitiveArray<Decimal128Type>>()
            .ok_or_else(|| overflow(data_type))?;
        decimals
            .validate_decimal_precision(*precision)
            .map_err(|_| overflow(data_type))?;
    }
    Ok(())
}

/// A `sum` that fails on overflow: also the sliding accumulator of a
/// window frame (values that leave are subtracted, exactly).
struct CheckedSum<T: ArrowPrimitiveType> {
    sum: T::Native,
    count: u64,
    data_type: DataType,
}

impl<T: ArrowPrimitiveType> std::fmt::Debug for CheckedSum<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckedSum({})", self.data_type)
    }
}

impl<T: ArrowPrimitiveType> CheckedSum<T> {
    fn new(data_type: DataType) -> Self {
        Self {
            sum: T::Native::usize_as(0),
            count: 0,
            data_type,
        }
    }

    fn add(&mut self, values: &ArrayRef, retract: bool) -> Result<()> {
        let values = values.as_primitive::<T>();
        let valid = (values.len() - values.null_count()) as u64;
        if let Some(x) = sum_checked(values).map_err(|_| overflow(&self.data_type))? {
            let sum = if retract {
                self.sum.sub_checked(x)
            } else {
                self.sum.add_checked(x)
            };
            self.sum = sum.map_err(|_| overflow(&self.data_type))?;
        }
        if retract {
            self.count -= valid;
        } else {
            self.count += valid;
        }
        Ok(())
    }

    fn value(&self) -> Result<ScalarValue> {
        ScalarValue::new_primitive::<T>((self.count > 0).then_some(self.sum), &self.data_type)
    }
}

impl<T: ArrowPrimitiveType> Accumulator for CheckedSum<T> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(&values[0], false)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.add(&states[0], false)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(&values[0], true)
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let value = self.value()?;
        check_precision(value.to_array()?.as_ref(), &self.data_type)?;
        Ok(value)
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }
}

/// DataFusion's grouped sum with checked additions: an overflow sets a
/// flag (the addition cannot return an error) that every call checks.
struct CheckedGroupsSum {
    inner: Box<dyn GroupsAccumulator>,
    overflowed: Arc<AtomicBool>,
    data_type: DataType,
}

impl CheckedGroupsSum {
    fn boxed<T: ArrowPrimitiveType + Send>(data_type: DataType) -> Box<dyn GroupsAccumulator> {
        let overflowed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&overflowed);
        let add = move |sum: &mut T::Native, x: T::Native| match sum.add_checked(x) {
            Ok(value) => *sum = value,
            Err(_) => flag.store(true, Ordering::Relaxed),
        };
        Box::new(Self {
            inner: Box::new(PrimitiveGroupsAccumulator::<T, _>::new(&data_type, add)),
            overflowed,
            data_type,
        })
    }

    fn check(&self) -> Result<()> {
        if self.overflowed.load(Ordering::Relaxed) {
            return Err(overflow(&self.data_type));
        }
        Ok(())
    }
}

impl GroupsAccumulator for CheckedGroupsSum {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner
            .update_batch(values, group_indices, opt_filter, total_num_groups)?;
        self.check()
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner
            .merge_batch(values, group_indices, total_num_groups)?;
        self.check()
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        self.check()?;
        let sums = self.inner.evaluate(emit_to)?;
        check_precision(sums.as_ref(), &self.data_type)?;
        Ok(sums)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.check()?;
        self.inner.state(emit_to)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        self.inner.convert_to_state(values, opt_filter)
    }

    fn size(&self) -> usize {
        self.inner.size()
    }
}

/// The `sum`, `avg`, variance or standard deviation of the floats in a
/// sliding window frame, computed from the frame's values in row order each
/// time the frame moves.
#[derive(Debug)]
struct FrameFloatAccumulator {
    frame: VecDeque<Option<f64>>,
    statistic: Statistic,
}

/// The count, mean and sum of squared deviations of some floats, updated
/// one value at a time in the order Spark's central-moment aggregates use.
#[derive(Default)]
struct Moments {
    count: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn add(&mut self, value: f64) {
        self.count += 1;
        let delta = value - self.mean;
        let delta_n = delta / self.count as f64;
        self.mean += delta_n;
        self.m2 += delta * (delta - delta_n);
    }
}

impl FrameFloatAccumulator {
    fn new(statistic: Statistic) -> Self {
        Self {
            frame: VecDeque::new(),
            statistic,
        }
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.frame.iter().flatten().copied()
    }

    /// The frame's sum and its count of non-null values.
    fn sum_and_count(&self) -> (f64, u64) {
        self.values()
            .fold((0.0, 0), |(sum, count), value| (sum + value, count + 1))
    }

    fn moments(&self) -> Moments {
        self.values()
            .fold(Moments::default(), |mut moments, value| {
                moments.add(value);
                moments
            })
    }
}

impl Accumulator for FrameFloatAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.frame
            .extend(values[0].as_primitive::<Float64Type>().iter());
        Ok(())
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let leaving = values[0].len().min(self.frame.len());
        self.frame.drain(..leaving);
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn merge_batch(&mut self, _states: &[ArrayRef]) -> Result<()> {
        exec_err!("a window frame's aggregate is never merged")
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        // The state fields of DataFusion's own accumulators.
        let (sum, count) = self.sum_and_count();
        let sum = ScalarValue::Float64((count > 0).then_some(sum));
        Ok(match self.statistic {
            Statistic::Sum => vec![sum],
            Statistic::Avg => vec![ScalarValue::UInt64(Some(count)), sum],
            Statistic::Variance { .. } => {
                let Moments { count, mean, m2 } = self.moments();
                vec![
                    ScalarValue::UInt64(Some(count)),
                    ScalarValue::Float64(Some(mean)),
                    ScalarValue::Float64(Some(m2)),
                ]
            }
        })
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let value = match self.statistic {
            Statistic::Sum | Statistic::Avg => {
                let (sum, count) = self.sum_and_count();
                match (count, self.statistic) {
                    (0, _) => None,
                    (_, Statistic::Avg) => Some(sum / count as f64),
                    _ => Some(sum),
                }
            }
            Statistic::Variance { population, root } => {
                let Moments { count, m2, .. } = self.moments();
                let variance = match (count, population) {
                    (0, _) | (1, false) => None,
                    (_, true) => Some(m2 / count as f64),
                    (_, false) => Some(m2 / (count - 1) as f64),
                };
                variance.map(|variance| if root { variance.sqrt() } else { variance })
            }
        };
        Ok(ScalarValue::Float64(value))
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.frame.capacity() * size_of::<Option<f64>>()
    }
}

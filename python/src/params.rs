//! Query parameters from Python values (`ctx.sql(q, params=[42])`).
//!
//! Each value goes through `pyarrow.array([value])`, so a parameter gets the
//! Arrow type pyarrow gives that value everywhere else (`int` → int64,
//! `Decimal('1.50')` → decimal128(3, 2), an aware `datetime` → timestamp
//! with its zone, `None` → null), and a `pyarrow.Scalar` keeps its type.

use arrow_pyarrow::FromPyArrow;
use datafusion::arrow::array::{ArrayData, make_array};
use datafusion::common::ParamValues;
use datafusion::scalar::ScalarValue;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// Binds a list or tuple (positional `$1`, `$2`, ...) or a dict (named
/// `$name`) of Python values.
pub fn param_values(params: &Bound<'_, PyAny>) -> PyResult<ParamValues> {
    if let Ok(named) = params.cast::<PyDict>() {
        let mut values = Vec::with_capacity(named.len());
        for (key, value) in named.iter() {
            let name: String = key.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "parameter names must be str, not {}",
                    type_name(&key)
                ))
            })?;
            let name = name.strip_prefix('$').unwrap_or(&name).to_string();
            let scalar = scalar(&value).map_err(|err| describe(&format!("${name}"), err))?;
            values.push((name, scalar));
        }
        return Ok(values.into());
    }
    if params.is_instance_of::<PyList>() || params.is_instance_of::<PyTuple>() {
        let mut values = Vec::new();
        for (index, value) in params.try_iter()?.enumerate() {
            let value = value?;
            let scalar = scalar(&value).map_err(|err| describe(&format!("${}", index + 1), err))?;
            values.push(scalar);
        }
        return Ok(values.into());
    }
    Err(PyTypeError::new_err(format!(
        "params must be a list, a tuple or a dict, not {}",
        type_name(params)
    )))
}

fn scalar(value: &Bound<'_, PyAny>) -> PyResult<ScalarValue> {
    let py = value.py();
    let pyarrow = py.import("pyarrow")?;
    let array = if value.is_instance(&pyarrow.getattr("Scalar")?)? {
        let kwargs = PyDict::new(py);
        kwargs.set_item("type", value.getattr("type")?)?;
        pyarrow.call_method("array", ([value.call_method0("as_py")?],), Some(&kwargs))?
    } else {
        pyarrow.call_method1("array", ([value],))?
    };
    let array = make_array(ArrayData::from_pyarrow_bound(&array)?);
    ScalarValue::try_from_array(&array, 0).map_err(|err| PyTypeError::new_err(err.to_string()))
}

fn describe(parameter: &str, err: PyErr) -> PyErr {
    Python::attach(|py| {
        PyTypeError::new_err(format!(
            "cannot bind parameter {parameter}: {}",
            err.value(py)
        ))
    })
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_else(|_| "?".to_string())
}

//! Differential testing of federation: seeded random queries over tables in
//! Spark (and a copy of one in Delta) run with federation on, with
//! federation off, and (when they read only Spark and mean the same in both
//! dialects) directly in Spark. Results must be equal: as multisets, or in
//! order when the query orders totally; floats within a relative tolerance.
//!
//! The same generator also runs through a Databricks SQL warehouse (the
//! workspace emulator, whose warehouse is the same Spark): the same tables,
//! attached through the other engine.
//!
//! `LAKEFED_DIFF_SEED` (default 1) and `LAKEFED_DIFF_QUERIES` (default 1000;
//! 300 through Databricks SQL) choose the run: `LAKEFED_DIFF_SEED=7
//! LAKEFED_DIFF_QUERIES=5000 cargo test --test integration
//! federation_differential`.

use std::fmt::Write;
use std::sync::Arc;

use datafusion::arrow::array::{Array, Float32Array, Float64Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use lakefed::SessionContextExt;
use lakefed::sources::delta::StorageOptions;
use lakefed::unstable::SparkConnectClient;
use lakefed::unstable::string_literal;
use tokio::sync::OnceCell;

use crate::databricks;
use crate::spark_env::url;

/// The Spark namespace of the generator's tables.
const NS: &str = "lakefed_diff";

/// SplitMix64: small, seedable, the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn range(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1) as u64) as i64
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// `value`, or (12% of the time) `NULL`.
    fn or_null(&mut self, value: impl FnOnce(&mut Self) -> String) -> String {
        if self.chance(12) {
            "NULL".to_string()
        } else {
            value(self)
        }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const GROUPS: [&str; 9] = [
    "a",
    "b",
    "B",
    "",
    "é",
    "it's",
    "back\\slash",
    "✓",
    "${env:HOME}",
];
const TEXTS: [&str; 13] = [
    "apple",
    "Banana",
    "per%cent",
    "under_score",
    "line1\nline2",
    "x`y",
    "--c",
    "/*c*/",
    "",
    "héllo",
    "a'b\\c",
    "${system:java.version}",
    "$x",
];

/// Creates `t1` (80 rows, every kind of column, both engines' extremes:
/// BIGINT, TINYINT and DECIMAL(38, 0) limits, NaN, -0.0, infinities,
/// `${...}` strings) and `t2` (40 rows) in Spark from a fixed data seed.
async fn create_tables(spark: &SparkConnectClient) {
    let mut rng = Rng(42);
    let mut t1 = Vec::new();
    for id in 1..=80 {
        let k = rng.or_null(|rng| rng.range(-3, 6).to_string());
        let g = rng.or_null(|rng| string_literal(rng.pick(&GROUPS)));
        let s = rng.or_null(|rng| string_literal(rng.pick(&TEXTS)));
        let dec = match rng.below(12) {
            0 => "99999999.99".to_string(),
            1 => "-99999999.99".to_string(),
            _ => format!("{}", rng.range(-100_000, 100_000) as f64 / 100.0),
        };
        let dec = rng.or_null(|_| format!("'{dec}'"));
        let big = rng.or_null(|rng| match rng.below(10) {
            0 => i64::MAX.to_string(),
            1 => format!("CAST({} AS BIGINT)", i64::MIN),
            _ => rng.range(-1_000_000_000_000, 1_000_000_000_000).to_string(),
        });
        // DECIMAL(38, 0) at and near its limits, and small values.
        let wide = rng.or_null(|rng| match rng.below(6) {
            0 => "'99999999999999999999999999999999999999'".to_string(),
            1 => "'-99999999999999999999999999999999999999'".to_string(),
            2 => "'12345678901234567890123456789012345678'".to_string(),
            _ => format!("'{}'", rng.range(-1000, 1000)),
        });
        let tiny = rng.or_null(|rng| match rng.below(6) {
            0 => "127".to_string(),
            1 => "-128".to_string(),
            _ => rng.range(-5, 5).to_string(),
        });
        let f = match rng.below(14) {
            0 => "'NaN'".to_string(),
            1 => "'-0.0'".to_string(),
            2 => "'Infinity'".to_string(),
            3 => "'0.0'".to_string(),
            4 => "'-Infinity'".to_string(),
            5 => "'1e308'".to_string(),
            _ => format!("'{}'", rng.range(-100_000, 100_000) as f64 / 100.0),
        };
        let f = rng.or_null(|_| f);
        let d = match rng.below(15) {
            0 => "DATE'0001-01-01'".to_string(),
            1 => "DATE'9999-12-31'".to_string(),
            _ => format!("date_add(DATE'1970-01-01', {})", rng.range(0, 22_000)),
        };
        let d = rng.or_null(|_| d);
        let ts = rng.or_null(|rng| {
            format!(
                "timestamp_micros({}L)",
                rng.range(0, 2_000_000_000) * 1_000_000 + rng.range(0, 999_999)
            )
        });
        let b = rng.or_null(|rng| rng.pick(&["TRUE", "FALSE"]).to_string());
        t1.push(format!(
            "({id}, {k}, {g}, {s}, {dec}, {big}, {f}, {d}, {ts}, {b}, {wide}, {tiny})"
        ));
    }
    let mut t2 = Vec::new();
    for id in 1..=40 {
        let k = rng.or_null(|rng| rng.range(-2, 8).to_string());
        let name = rng.or_null(|rng| string_literal(rng.pick(&GROUPS)));
        let amount =
            rng.or_null(|rng| format!("'{}'", rng.range(-10_000_000, 10_000_000) as f64 / 1000.0));
        t2.push(format!("({id}, {k}, {name}, {amount})"));
    }
    let statements = [
        format!("DROP NAMESPACE IF EXISTS {NS} CASCADE"),
        format!("CREATE NAMESPACE {NS}"),
        format!(
            "CREATE TABLE {NS}.t1 USING parquet AS SELECT CAST(c1 AS BIGINT) AS id, CAST(c2 AS INT) AS k, \
             CAST(c3 AS STRING) AS g, CAST(c4 AS STRING) AS s, CAST(c5 AS DECIMAL(10, 2)) AS dec, \
             CAST(c6 AS BIGINT) AS big, CAST(c7 AS DOUBLE) AS f, CAST(c8 AS DATE) AS d, \
             CAST(c9 AS TIMESTAMP) AS ts, CAST(c10 AS BOOLEAN) AS b, CAST(c11 AS DECIMAL(38, 0)) AS wide, \
             CAST(c12 AS TINYINT) AS tiny FROM VALUES {} AS v(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12)",
            t1.join(", ")
        ),
        format!(
            "CREATE TABLE {NS}.t2 USING parquet AS SELECT CAST(c1 AS BIGINT) AS id, CAST(c2 AS INT) AS k, \
             CAST(c3 AS STRING) AS name, CAST(c4 AS DECIMAL(12, 3)) AS amount FROM VALUES {} AS v(c1, c2, c3, c4)",
            t2.join(", ")
        ),
    ];
    for statement in statements {
        spark
            .collect(&statement)
            .await
            .unwrap_or_else(|err| panic!("{statement}: {err}"));
    }
}

/// A generated query. Table names are written `{t1}`, `{t2}`, `{d2}` and
/// string literals `{sN}` (index into `strings`), so that each dialect gets
/// its own spelling.
#[derive(Default)]
struct Query {
    text: String,
    strings: Vec<String>,
    /// Reads the Delta copy `d2`: no direct Spark run.
    cross_source: bool,
    /// Uses something the two dialects read differently (`/`, avg of a
    /// decimal, float comparisons): no direct Spark run.
    dialect_specific: bool,
    /// Ends in an ORDER BY that orders rows totally.
    ordered: bool,
}

impl Query {
    fn string(&mut self, value: &str) -> String {
        self.strings.push(value.to_string());
        format!("{{s{}}}", self.strings.len() - 1)
    }

    /// The query for lakefed (tables in catalog `spark`, Delta in `lake`).
    fn for_lakefed(&self) -> String {
        let mut text = self
            .text
            .replace("{t1}", &format!("spark.{NS}.t1"))
            .replace("{t2}", &format!("spark.{NS}.t2"))
            .replace("{d2}", "lake.d2");
        for (i, value) in self.strings.iter().enumerate().rev() {
            text = text.replace(
                &format!("{{s{i}}}"),
                &format!("'{}'", value.replace('\'', "''")),
            );
        }
        text
    }

    /// The same query for Spark itself.
    fn for_spark(&self) -> String {
        let mut text = self
            .text
            .replace("{t1}", &format!("{NS}.t1"))
            .replace("{t2}", &format!("{NS}.t2"));
        for (i, value) in self.strings.iter().enumerate().rev() {
            text = text.replace(&format!("{{s{i}}}"), &string_literal(value));
        }
        text
    }
}

/// `items` as a select list, each aliased (`x0`, `x1`, ...) so repeated
/// expressions keep distinct names.
fn aliased(items: &[String]) -> String {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| format!("{item} AS x{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds random queries over `t1` (id, k, g, s, dec, big, f, d, ts, b) and
/// `t2`/`d2` (id, k, name, amount).
struct Generator {
    rng: Rng,
}

impl Generator {
    fn query(&mut self) -> Query {
        let mut q = Query::default();
        match self.rng.below(10) {
            0 => self.filter_projection(&mut q),
            1 | 2 => self.aggregate(&mut q),
            3 => self.join(&mut q),
            4 => self.top_n(&mut q),
            5 => self.window(&mut q),
            6 => self.subquery(&mut q),
            7 => self.set_operation(&mut q),
            8 => self.aggregate_over_join(&mut q),
            _ => self.cross_source(&mut q),
        }
        q
    }

    /// A predicate over `t1`'s columns under `alias`.
    fn predicate(&mut self, q: &mut Query, alias: &str, depth: usize) -> String {
        if depth < 2 && self.rng.chance(35) {
            let left = self.predicate(q, alias, depth + 1);
            let right = self.predicate(q, alias, depth + 1);
            let op = self.rng.pick(&["AND", "OR"]);
            let combined = format!("({left} {op} {right})");
            return if self.rng.chance(15) {
                format!("(NOT {combined})")
            } else {
                combined
            };
        }
        let a = alias;
        match self.rng.below(14) {
            0 => format!(
                "{a}.k {} {}",
                self.rng.pick(&["=", "<>", "<", "<=", ">", ">="]),
                self.rng.range(-3, 6)
            ),
            1 => {
                let low = self.rng.range(0, 60);
                format!("{a}.id BETWEEN {low} AND {}", low + self.rng.range(0, 30))
            }
            2 => {
                let g = self.rng.pick(&GROUPS).to_string();
                format!("{a}.g = {}", q.string(&g))
            }
            3 => {
                let items = (0..1 + self.rng.below(3))
                    .map(|_| {
                        let g = self.rng.pick(&GROUPS).to_string();
                        q.string(&g)
                    })
                    .collect::<Vec<_>>();
                let not = if self.rng.chance(30) { "NOT " } else { "" };
                format!("{a}.g {not}IN ({})", items.join(", "))
            }
            4 => {
                let pattern = self
                    .rng
                    .pick(&["%a%", "a%", "%e", "_", "%\\%%", "%\\_%", "B%", "%é%"])
                    .to_string();
                let not = if self.rng.chance(30) { "NOT " } else { "" };
                format!("{a}.s {not}LIKE {}", q.string(&pattern))
            }
            5 => format!(
                "{a}.dec {} CAST({} AS DECIMAL(10, 2))",
                self.rng.pick(&["<", ">=", "="]),
                q.string(&format!(
                    "{}",
                    self.rng.range(-100_000, 100_000) as f64 / 100.0
                ))
            ),
            6 => format!(
                "{a}.d {} DATE '{}-06-15'",
                self.rng.pick(&["<", ">="]),
                self.rng.range(1970, 2030)
            ),
            7 => format!("{a}.b"),
            8 => format!(
                "{a}.{} IS {}NULL",
                self.rng.pick(&["k", "g", "s", "dec", "f", "d", "b"]),
                if self.rng.chance(50) { "NOT " } else { "" }
            ),
            9 => {
                // Floats are compared in DataFusion only (-0.0, NaN).
                q.dialect_specific = true;
                format!("{a}.f > {}", self.rng.range(-500, 500))
            }
            10 => format!("{a}.k % 2 = {}", self.rng.range(-1, 1)),
            11 => format!(
                "{a}.big > {}",
                self.rng.range(-1_000_000_000_000, 1_000_000_000_000)
            ),
            12 => format!("{a}.b IS NOT TRUE"),
            _ => format!(
                "{a}.ts < TIMESTAMP '{}-03-01 12:00:00'",
                self.rng.range(1970, 2033)
            ),
        }
    }

    /// A projected expression over `t1` under `alias`.
    fn expression(&mut self, q: &mut Query, alias: &str) -> String {
        let a = alias;
        match self.rng.below(21) {
            0 => format!("{a}.k + {}", self.rng.range(-5, 5)),
            1 => format!("{a}.big * {}", self.rng.range(-3, 3)),
            2 => format!("{a}.dec * {a}.dec"),
            3 => format!("{a}.dec + {a}.dec - {a}.dec"),
            4 => format!("-{a}.k"),
            5 => format!("abs({a}.k)"),
            6 => {
                let none = q.string("none");
                format!("coalesce({a}.g, {none})")
            }
            7 => {
                let pos = q.string("pos");
                let neg = q.string("n'g");
                format!(
                    "CASE WHEN {a}.k > 0 THEN {pos} WHEN {a}.k IS NULL THEN {a}.g ELSE {neg} END"
                )
            }
            8 => {
                let bang = q.string("!");
                format!("{a}.g || {bang}")
            }
            9 => {
                q.dialect_specific = true;
                format!("{a}.k / 2")
            }
            10 => format!("{}({a}.s)", self.rng.pick(&["upper", "lower", "length"])),
            11 => format!("{a}.f * 2"),
            12 => format!("{a}.k * {a}.k - {a}.id"),
            13 => format!("CASE {a}.k WHEN 1 THEN {a}.dec ELSE -{a}.dec END"),
            14 => format!("{a}.b AND {a}.k > 0"),
            // Overflow: an error in both engines, never a wrapped value.
            15 => format!("-{a}.big"),
            16 => format!("{a}.big + {a}.big"),
            17 => format!("{a}.tiny * {a}.tiny"),
            18 => format!("{a}.wide + {a}.wide"),
            // Spark rounds these to 34 digits: kept local.
            19 => {
                q.dialect_specific = true;
                format!("{}({a}.wide)", self.rng.pick(&["abs", "-"]))
            }
            _ => format!(
                "{a}.{}",
                self.rng.pick(&[
                    "id", "k", "g", "s", "dec", "big", "f", "d", "ts", "b", "wide", "tiny"
                ])
            ),
        }
    }

    fn aggregate_call(&mut self, q: &mut Query, alias: &str) -> String {
        let a = alias;
        match self.rng.below(16) {
            0 => "count(*)".to_string(),
            1 => format!("count({a}.{})", self.rng.pick(&["k", "g", "dec", "f"])),
            2 => format!("count(DISTINCT {a}.{})", self.rng.pick(&["k", "g", "dec"])),
            3 => format!("sum({a}.k)"),
            4 => format!("sum({a}.dec)"),
            5 => format!("sum({a}.big)"),
            6 => format!("avg({a}.k)"),
            7 => {
                q.dialect_specific = true;
                format!("avg({a}.dec)")
            }
            8 => format!("sum({a}.f)"),
            9 => format!(
                "{}({a}.{})",
                self.rng.pick(&["min", "max"]),
                self.rng.pick(&["k", "g", "s", "dec", "d", "ts", "b", "id"])
            ),
            10 => {
                let cond = self.predicate(q, a, 1);
                format!("count(*) FILTER (WHERE {cond})")
            }
            11 => format!("sum({a}.k * {a}.k)"),
            12 => format!("max({a}.dec * 2)"),
            13 => format!("avg({a}.f)"),
            14 => format!("sum({a}.{})", self.rng.pick(&["wide", "tiny", "big"])),
            _ => format!("min(abs({a}.k))"),
        }
    }

    fn filter_projection(&mut self, q: &mut Query) {
        let columns = (0..1 + self.rng.below(4))
            .map(|_| self.expression(q, "t"))
            .collect::<Vec<_>>();
        let predicate = self.predicate(q, "t", 0);
        q.text = format!(
            "SELECT t.id, {} FROM {{t1}} t WHERE {predicate}",
            aliased(&columns)
        );
    }

    fn aggregate(&mut self, q: &mut Query) {
        let keys = self.group_keys();
        let aggregates = (0..1 + self.rng.below(3))
            .map(|_| self.aggregate_call(q, "t"))
            .collect::<Vec<_>>();
        let items = keys.iter().chain(&aggregates).cloned().collect::<Vec<_>>();
        let mut text = format!("SELECT {}", aliased(&items));
        text.push_str(" FROM {t1} t");
        if self.rng.chance(50) {
            let predicate = self.predicate(q, "t", 0);
            let _ = write!(text, " WHERE {predicate}");
        }
        if !keys.is_empty() {
            let _ = write!(text, " GROUP BY {}", keys.join(", "));
            if self.rng.chance(40) {
                let _ = write!(text, " HAVING count(*) > {}", self.rng.range(0, 3));
            }
        }
        q.text = text;
    }

    fn group_keys(&mut self) -> Vec<String> {
        let pool = ["t.k", "t.g", "t.b", "t.d", "t.k % 3", "coalesce(t.g, 'z')"];
        let mut keys = Vec::new();
        for _ in 0..self.rng.below(3) {
            let key = self.rng.pick(&pool).to_string();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    fn join(&mut self, q: &mut Query) {
        let kind = self
            .rng
            .pick(&["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"]);
        let mut on = "a.k = b.k".to_string();
        if self.rng.chance(30) {
            on.push_str(" AND a.id < b.id + 20");
        }
        let mut text = format!(
            "SELECT a.id, a.k, a.g, b.id, b.name, b.amount FROM {{t1}} a {kind} {{t2}} b ON {on}"
        );
        if self.rng.chance(50) {
            let predicate = self.predicate(q, "a", 1);
            // On the outer side a WHERE filter changes meaning, as it should:
            // the same query runs in every mode.
            let _ = write!(text, " WHERE {predicate} OR a.id IS NULL");
        }
        q.text = text;
    }

    fn top_n(&mut self, q: &mut Query) {
        if self.rng.chance(20) {
            // Top-k aggregation over a float key with NaN, -0.0, infinities.
            q.text = format!(
                "SELECT DISTINCT t.f FROM {{t1}} t ORDER BY t.f {} NULLS {} LIMIT {}",
                self.rng.pick(&["ASC", "DESC"]),
                self.rng.pick(&["FIRST", "LAST"]),
                self.rng.range(1, 6)
            );
            return;
        }
        let columns = (0..1 + self.rng.below(3))
            .map(|_| self.expression(q, "t"))
            .collect::<Vec<_>>();
        let keys = (0..1 + self.rng.below(2))
            .map(|_| {
                format!(
                    "t.{} {} NULLS {}",
                    self.rng.pick(&["k", "g", "dec", "d", "s", "b"]),
                    self.rng.pick(&["ASC", "DESC"]),
                    self.rng.pick(&["FIRST", "LAST"])
                )
            })
            .collect::<Vec<_>>();
        let mut text = format!(
            "SELECT t.id, {} FROM {{t1}} t ORDER BY {}, t.id LIMIT {}",
            aliased(&columns),
            keys.join(", "),
            self.rng.range(1, 20)
        );
        if self.rng.chance(25) {
            let _ = write!(text, " OFFSET {}", self.rng.range(0, 10));
        }
        q.text = text;
        q.ordered = true;
    }

    fn window(&mut self, q: &mut Query) {
        let partition = self
            .rng
            .pick(&["", "PARTITION BY t.g ", "PARTITION BY t.k % 2 "])
            .to_string();
        let function = match self.rng.below(8) {
            0 => format!("row_number() OVER ({partition}ORDER BY t.id)"),
            1 => format!("rank() OVER ({partition}ORDER BY t.k DESC NULLS LAST)"),
            2 => format!("dense_rank() OVER ({partition}ORDER BY t.d ASC NULLS FIRST)"),
            3 => format!(
                "sum(t.k) OVER ({partition}ORDER BY t.id ROWS BETWEEN {} PRECEDING AND CURRENT ROW)",
                self.rng.range(0, 3)
            ),
            4 => format!("count(t.g) OVER ({partition}ORDER BY t.id)"),
            // Infinities and NaN leaving a sliding frame.
            5 => format!(
                "{}(t.f) OVER ({partition}ORDER BY t.id ROWS BETWEEN {} PRECEDING AND CURRENT ROW)",
                self.rng.pick(&["sum", "avg"]),
                self.rng.range(1, 3)
            ),
            6 => format!(
                "sum(t.big) OVER ({partition}ORDER BY t.id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)"
            ),
            _ => format!("max(t.dec) OVER ({partition})"),
        };
        let mut text = format!("SELECT t.id, t.k, {function} AS w FROM {{t1}} t");
        if self.rng.chance(40) {
            let predicate = self.predicate(q, "t", 1);
            let _ = write!(text, " WHERE {predicate}");
        }
        q.text = text;
    }

    fn subquery(&mut self, q: &mut Query) {
        let inner = format!(
            "b.amount > CAST({} AS DECIMAL(12, 3))",
            q.string(&self.rng.range(-5000, 5000).to_string())
        );
        q.text = match self.rng.below(5) {
            0 => format!(
                "SELECT t.id, t.k FROM {{t1}} t WHERE t.k IN (SELECT b.k FROM {{t2}} b WHERE {inner})"
            ),
            1 => format!(
                "SELECT t.id, t.k FROM {{t1}} t WHERE t.k NOT IN (SELECT b.k FROM {{t2}} b WHERE {inner})"
            ),
            2 => format!(
                "SELECT t.id FROM {{t1}} t WHERE EXISTS (SELECT 1 FROM {{t2}} b WHERE b.k = t.k AND {inner})"
            ),
            3 => format!(
                "SELECT t.id FROM {{t1}} t WHERE NOT EXISTS (SELECT 1 FROM {{t2}} b WHERE b.k = t.k AND {inner})"
            ),
            _ => "SELECT t.id, (SELECT max(b.amount) FROM {t2} b WHERE b.k = t.k) AS m FROM {t1} t"
                .to_string(),
        };
    }

    fn set_operation(&mut self, q: &mut Query) {
        let left = self.predicate(q, "t", 1);
        let op = self.rng.pick(&["UNION", "UNION ALL"]).to_string();
        let threshold = self.rng.range(-2, 8);
        let distinct = if self.rng.chance(30) { "DISTINCT " } else { "" };
        q.text = format!(
            "SELECT {distinct}t.k, t.g FROM {{t1}} t WHERE {left} {op} SELECT b.k, b.name FROM {{t2}} b WHERE b.k > {threshold}"
        );
    }

    fn aggregate_over_join(&mut self, q: &mut Query) {
        let kind = self.rng.pick(&["JOIN", "LEFT JOIN"]);
        let aggregate = self.aggregate_call(q, "a");
        let key = self.rng.pick(&["a.g", "b.name", "a.k"]).to_string();
        q.text = format!(
            "SELECT {key}, {aggregate}, count(b.id), sum(b.amount) FROM {{t1}} a {kind} {{t2}} b ON a.k = b.k GROUP BY {key}"
        );
    }

    fn cross_source(&mut self, q: &mut Query) {
        q.cross_source = true;
        let predicate = self.predicate(q, "a", 1);
        q.text = match self.rng.below(3) {
            0 => format!(
                "SELECT a.g, count(*), sum(c.amount) FROM {{t1}} a JOIN {{d2}} c ON a.k = c.k WHERE {predicate} GROUP BY a.g"
            ),
            1 => format!(
                "SELECT s.k, s.n, c.name FROM (SELECT a.k, count(*) AS n FROM {{t1}} a WHERE {predicate} GROUP BY a.k) s \
                 LEFT JOIN {{d2}} c ON s.k = c.k"
            ),
            _ => format!(
                "SELECT a.id FROM {{t1}} a WHERE {predicate} AND a.k IN (SELECT c.k FROM {{d2}} c WHERE c.amount > 0)"
            ),
        };
    }
}

/// One row as text cells; floats kept apart for a tolerant comparison.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    cells: Vec<String>,
    floats: Vec<Option<f64>>,
}

fn rows(batches: &[RecordBatch]) -> Vec<Row> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let columns = batch.columns();
        for row in 0..batch.num_rows() {
            let mut cells = Vec::new();
            let mut floats = Vec::new();
            for column in columns {
                match column.data_type() {
                    DataType::Float64 | DataType::Float32 => {
                        let value = if column.is_null(row) {
                            None
                        } else if let Some(a) = column.as_any().downcast_ref::<Float64Array>() {
                            Some(a.value(row))
                        } else {
                            let a = column.as_any().downcast_ref::<Float32Array>().unwrap();
                            Some(a.value(row) as f64)
                        };
                        floats.push(value);
                        cells.push("~".to_string());
                    }
                    _ => {
                        let formatter = ArrayFormatter::try_new(column.as_ref(), &options).unwrap();
                        cells.push(formatter.value(row).to_string());
                    }
                }
            }
            rows.push(Row { cells, floats });
        }
    }
    rows
}

fn floats_match(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            (a.is_nan() && b.is_nan())
                || a == b
                || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
        }
        _ => false,
    }
}

/// Equal as multisets (or lists when `ordered`), floats within tolerance.
fn same_rows(mut a: Vec<Row>, mut b: Vec<Row>, ordered: bool) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if !ordered {
        let key = |row: &Row| {
            let floats: Vec<String> = row
                .floats
                .iter()
                .map(|f| {
                    f.map(|v| format!("{:.6e}", if v == 0.0 { 0.0 } else { v }))
                        .unwrap_or_default()
                })
                .collect();
            (row.cells.clone(), floats)
        };
        a.sort_by_key(key);
        b.sort_by_key(key);
    }
    a.iter().zip(&b).all(|(x, y)| {
        x.cells == y.cells
            && x.floats.len() == y.floats.len()
            && x.floats
                .iter()
                .zip(&y.floats)
                .all(|(p, q)| floats_match(*p, *q))
    })
}

/// Whether an error is an arithmetic overflow, as Spark (ANSI mode) or
/// lakefed's checked arithmetic reports it.
fn is_overflow(error: &str) -> bool {
    let error = error.to_lowercase();
    error.contains("overflow") || error.contains("out_of_range")
}

/// Runs `sql` in lakefed; the rows, and whether a subplan was federated.
async fn run_lakefed(ctx: &SessionContext, sql: &str) -> Result<(Vec<Row>, bool), String> {
    let df = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    let plan = df
        .clone()
        .into_optimized_plan()
        .map_err(|e| e.to_string())?;
    let federated = plan.display_indent().to_string().contains(".federated_");
    let batches = df.collect().await.map_err(|e| e.to_string())?;
    Ok((rows(&batches), federated))
}

/// The engine that attaches the generator's Spark tables as catalog `spark`.
#[derive(Clone, Copy)]
enum Engine {
    SparkConnect,
    DatabricksSql,
}

/// A session with the Spark tables as `spark` (through `engine`) and the
/// Delta copy of `t2` as `lake.d2`.
async fn session(delta_dir: &std::path::Path, federation: bool, engine: Engine) -> SessionContext {
    let ctx = lakefed::new_session_context();
    match engine {
        Engine::SparkConnect => ctx.register_spark_connect("spark", &url()).unwrap(),
        Engine::DatabricksSql => {
            let mut options = databricks::options();
            options.catalog = Some("spark_catalog".to_string());
            ctx.register_databricks_sql("spark", &databricks::auth(), options)
                .await
                .unwrap();
        }
    }
    ctx.register_delta_schema(
        "lake",
        &delta_dir.to_string_lossy(),
        StorageOptions::default(),
    )
    .unwrap();
    ctx.sql(&format!("SET lakefed.federation = {federation}"))
        .await
        .unwrap();
    ctx
}

/// A client of the test Spark server, with the generator's tables created
/// (once per run).
async fn spark_with_tables() -> SparkConnectClient {
    static CREATED: OnceCell<SparkConnectClient> = OnceCell::const_new();
    CREATED
        .get_or_init(|| async {
            let spark =
                SparkConnectClient::new(&url().parse().unwrap(), Default::default()).unwrap();
            create_tables(&spark).await;
            spark
        })
        .await
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn federation_differential() {
    differential(Engine::SparkConnect, 1000).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn federation_differential_through_databricks_sql() {
    differential(Engine::DatabricksSql, 300).await;
}

/// Runs `default_count` generated queries (or `LAKEFED_DIFF_QUERIES`) with
/// the Spark tables attached through `engine`.
async fn differential(engine: Engine, default_count: usize) {
    let seed: u64 = std::env::var("LAKEFED_DIFF_SEED").map_or(1, |s| s.parse().unwrap());
    let count: usize =
        std::env::var("LAKEFED_DIFF_QUERIES").map_or(default_count, |s| s.parse().unwrap());

    let delta_dir = tempfile::tempdir().unwrap();
    let spark = spark_with_tables().await;
    let on = Arc::new(session(delta_dir.path(), true, engine).await);
    on.sql(&format!(
        "CREATE TABLE lake.d2 AS SELECT * FROM spark.{NS}.t2"
    ))
    .await
    .unwrap()
    .collect()
    .await
    .unwrap();
    let off = Arc::new(session(delta_dir.path(), false, engine).await);

    let mut generator = Generator { rng: Rng(seed) };
    let queries: Vec<Query> = (0..count).map(|_| generator.query()).collect();
    let outcomes = futures::stream::iter(queries.into_iter().enumerate())
        .map(|(index, query)| {
            let (on, off, spark) = (on.clone(), off.clone(), spark.clone());
            async move {
                let sql = query.for_lakefed();
                let federated = run_lakefed(&on, &sql).await;
                let scan_only = run_lakefed(&off, &sql).await;
                let mut problems = Vec::new();
                let mut was_federated = false;
                match (&federated, &scan_only) {
                    (Ok((a, fed)), Ok((b, _))) => {
                        was_federated = *fed;
                        if !same_rows(a.clone(), b.clone(), query.ordered) {
                            problems.push(format!("federation on/off differ:\n  on:  {a:?}\n  off: {b:?}"));
                        }
                    }
                    // One semantics for overflow: an error in both modes.
                    (Err(a), Err(b)) if is_overflow(a) && is_overflow(b) => {}
                    (Err(a), Err(b)) if a == b => {
                        problems.push(format!("fails in both modes: {a}"));
                    }
                    _ => problems.push(format!(
                        "on: {:?}\n  off: {:?}",
                        federated.as_ref().map(|r| r.0.len()),
                        scan_only.as_ref().map(|r| r.0.len())
                    )),
                }
                let direct = !query.cross_source && !query.dialect_specific;
                if direct {
                    let spark_sql = query.for_spark();
                    match (&federated, spark.collect(&spark_sql).await) {
                        (Ok((a, _)), Ok(batches)) => {
                            let b = rows(&batches);
                            if !same_rows(a.clone(), b.clone(), query.ordered) {
                                problems.push(format!(
                                    "lakefed and Spark differ:\n  lakefed: {a:?}\n  spark:   {b:?}\n  spark sql: {spark_sql}"
                                ));
                            }
                        }
                        (Err(a), Err(b)) if is_overflow(a) && is_overflow(&b.to_string()) => {}
                        (Err(_), Ok(_)) => problems.push(format!("Spark answered {spark_sql}")),
                        (_, Err(err)) => problems.push(format!("Spark rejected {spark_sql}: {err}")),
                    }
                }
                let problems = problems
                    .into_iter()
                    .map(|p| format!("query {index} (seed {seed}): {sql}\n  {p}"))
                    .collect::<Vec<_>>();
                (problems, was_federated, direct)
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;

    let federated = outcomes.iter().filter(|o| o.1).count();
    let direct = outcomes.iter().filter(|o| o.2).count();
    let problems: Vec<String> = outcomes.into_iter().flat_map(|o| o.0).collect();
    println!(
        "{count} queries (seed {seed}): {federated} federated, {direct} also run directly in Spark, {} problems",
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} of {count} queries failed:\n{}",
        problems.len(),
        problems.join("\n\n")
    );
    // The generator must exercise federation, not just scans.
    assert!(
        federated * 2 > count,
        "only {federated} of {count} queries were federated"
    );
    assert!(
        direct * 3 > count,
        "only {direct} of {count} queries ran directly in Spark"
    );
}

-- Fixture tables in the test Spark server, created in namespace ${NS} by
-- sql-tests/spark_fixtures.rs before the Spark suites run. Statements end
-- with ';' at the end of a line.

DROP NAMESPACE IF EXISTS ${NS} CASCADE;
CREATE NAMESPACE ${NS};

-- Edge values for filters: quotes, backslashes, LIKE wildcards, newlines,
-- unicode, SQL comment markers, case, NULLs, extreme numbers, -0.0 and NaN.
CREATE TABLE ${NS}.items (
  id BIGINT, name STRING, qty INT, price DECIMAL(10, 2), ratio DOUBLE,
  d DATE, ts TIMESTAMP, ntz TIMESTAMP_NTZ, flag BOOLEAN, tag BINARY, category STRING
) USING parquet;
INSERT INTO ${NS}.items VALUES
  (1, 'apple', 10, 1.50, 0.5, DATE'2024-01-01', TIMESTAMP'2024-01-01 00:00:00', TIMESTAMP_NTZ'2024-01-01 00:00:00', true, X'01', 'fruit'),
  (2, 'Banana', -3, 0.25, -0.0, DATE'2024-02-29', TIMESTAMP'2024-02-29 12:30:00', TIMESTAMP_NTZ'2024-02-29 12:30:00', false, X'02', 'fruit'),
  (3, 'it\'s', NULL, 100.00, 0.0, DATE'1999-12-31', TIMESTAMP'1999-12-31 23:59:59.999999', TIMESTAMP_NTZ'1999-12-31 23:59:59.999999', NULL, NULL, 'quote'),
  (4, 'back\\slash', 0, -1.00, CAST('NaN' AS DOUBLE), DATE'1970-01-01', TIMESTAMP'1970-01-01 00:00:00', TIMESTAMP_NTZ'1970-01-01 00:00:00', true, X'00FF', 'quote'),
  (5, 'per%cent_under', 7, 0.01, CAST('Infinity' AS DOUBLE), DATE'2000-06-15', TIMESTAMP'2000-06-15 08:00:00.5', TIMESTAMP_NTZ'2000-06-15 08:00:00.5', false, X'', 'pattern'),
  (6, 'line1\nline2', 2147483647, 99999999.99, 1e308, DATE'0001-01-01', TIMESTAMP'0001-01-01 00:00:00', TIMESTAMP_NTZ'0001-01-01 00:00:00', true, X'FF', 'multi'),
  (7, 'héllo wörld ✓', -2147483648, -99999999.99, -1e-300, DATE'9999-12-31', TIMESTAMP'9999-12-31 23:59:59.999999', TIMESTAMP_NTZ'9999-12-31 23:59:59.999999', false, X'CAFE', 'unicode'),
  (8, '', 1, 0.00, NULL, NULL, NULL, NULL, true, X'', ''),
  (9, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (10, 'x`y', 5, 5.55, 5.5, DATE'2024-12-31', TIMESTAMP'2024-12-31 23:00:00', TIMESTAMP_NTZ'2024-12-31 23:00:00', false, X'0A', 'ident'),
  (11, '--comment', 6, 6.00, 6.0, DATE'2024-03-01', TIMESTAMP'2024-03-01 00:00:00', TIMESTAMP_NTZ'2024-03-01 00:00:00', true, X'0B', 'sql'),
  (12, '/*c*/', 8, 8.00, 8.0, DATE'2024-03-02', TIMESTAMP'2024-03-02 00:00:00', TIMESTAMP_NTZ'2024-03-02 00:00:00', false, X'0C', 'sql'),
  (13, 'Apple', 10, 1.50, 0.5, DATE'2024-01-01', TIMESTAMP'2024-01-01 00:00:00', TIMESTAMP_NTZ'2024-01-01 00:00:00', true, X'01', 'fruit'),
  (14, 'a\\%b', -1, -0.01, -0.5, DATE'2023-01-01', TIMESTAMP'2023-01-01 00:00:00', TIMESTAMP_NTZ'2023-01-01 00:00:00', false, X'0D', 'pattern');

-- Every Spark type, read back value by value. Intervals and variants cannot
-- be stored in Parquet: a view computes them.
CREATE VIEW ${NS}.types AS SELECT * FROM VALUES
  (1, 127Y, 32767S, 2147483647, 9223372036854775807L, CAST(1.5 AS FLOAT), CAST(2.25 AS DOUBLE),
   CAST('12345678901234567890.123456789012345678' AS DECIMAL(38, 18)), CAST(-0.01 AS DECIMAL(10, 2)),
   'héllo ✓', X'00FF', true, DATE'0001-01-01', TIMESTAMP'2024-03-10 12:34:56.789012',
   TIMESTAMP_NTZ'9999-12-31 23:59:59.999999', INTERVAL '1 02:03:04.5' DAY TO SECOND, INTERVAL '1-2' YEAR TO MONTH,
   array(1, NULL, 3), map('a', 1, 'b', NULL), named_struct('a', 1, 'b', 'x'), parse_json('{"a":[1,2]}')),
  (2, CAST(-128 AS TINYINT), CAST(-32768 AS SMALLINT), CAST(-2147483648 AS INT), CAST(-9223372036854775808 AS BIGINT), CAST('-Infinity' AS FLOAT), CAST('NaN' AS DOUBLE),
   CAST('-0.000000000000000001' AS DECIMAL(38, 18)), CAST(99999999.99 AS DECIMAL(10, 2)),
   '', X'', false, DATE'9999-12-31', TIMESTAMP'1970-01-01 00:00:00',
   TIMESTAMP_NTZ'0001-01-01 00:00:00', INTERVAL '-0 00:00:00.000001' DAY TO SECOND, INTERVAL '-0-1' YEAR TO MONTH,
   array(), map(), named_struct('a', NULL, 'b', NULL), parse_json('null')),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, parse_json(NULL))
  AS t(k, tiny, small, int, big, f, d, dec, money, str, bin, b, dt, ts, ntz, dti, ymi, arr, m, st, v);

-- CHAR and VARCHAR keep their declared types in a table.
CREATE TABLE ${NS}.text_types (c CHAR(5), v VARCHAR(10)) USING parquet;
INSERT INTO ${NS}.text_types VALUES ('ab', 'xyz'), (NULL, NULL);

-- Joined with the Delta fixture `fx.events` (bucket 0..3).
CREATE TABLE ${NS}.buckets (bucket INT, label STRING) USING parquet;
INSERT INTO ${NS}.buckets VALUES (0, 'zero'), (1, 'one'), (2, 'two'), (3, 'three'), (9, 'unused');

-- 201 columns, 1,000 rows.
CREATE TABLE ${NS}.wide USING parquet AS SELECT id, ${WIDE_COLUMNS} FROM range(1000);

-- 50 million rows, computed on demand.
CREATE VIEW ${NS}.big AS SELECT id, id % 1000 AS bucket FROM range(50000000);

-- Runs for hours unless interrupted: for cancellation tests.
CREATE VIEW ${NS}.endless AS SELECT id FROM range(100000000000);

-- Names that need quoting on both sides: a dot, a space, a backtick, case.
-- (Spark allows only letters, digits and _ in table names.)
CREATE VIEW ${NS}.Odd_Name AS SELECT * FROM VALUES (1, 'one'), (2, 'two') AS t(`col ``a.b`, `Mixed Case`);

-- value
WITH d AS (
  SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
),
e AS (
  SELECT CAST(t."platform" AS TEXT) AS dimension, t."user_id" AS who, CAST(julianday(t."occurred_at") - julianday(?) AS INTEGER) AS active_day
  FROM "events" t
  WHERE t."occurred_at" >= ?
    AND t."occurred_at" < ?
    AND t."user_id" IS NOT NULL
),
s AS (
  SELECT dimension, active_day,
    LAG(active_day) OVER (PARTITION BY dimension, who ORDER BY active_day) AS previous_day,
    LEAD(active_day) OVER (PARTITION BY dimension, who ORDER BY active_day) AS next_day
  FROM e
),
g AS (
  SELECT dimension, boundary, SUM(step) AS step
  FROM (
    SELECT dimension, active_day AS boundary, 1 AS step FROM s
    WHERE previous_day IS NULL OR active_day >= previous_day + ?
    UNION ALL
    SELECT dimension, active_day + ? AS boundary, -1 AS step FROM s
    WHERE next_day IS NULL OR next_day >= active_day + ?
  ) x
  GROUP BY dimension, boundary
)
SELECT d.period AS period, g.dimension AS dimension, CAST(SUM(g.step) AS REAL) AS value
FROM d
JOIN g ON g.boundary <= d.evaluation_day
GROUP BY d.period, g.dimension
HAVING SUM(g.step) > 0
ORDER BY 1, 2
-- parameters: 1 = '2026-09-01', 2 = 27, 3 = '2026-09-02', 4 = 28, 5 = '2026-09-03', 6 = 29, 7 = '2026-09-04', 8 = 30, 9 = '2026-09-05', 10 = 31, 11 = '2026-09-06', 12 = 32, 13 = '2026-09-07', 14 = 33, 15 = '2026-09-08', 16 = 34, 17 = '2026-09-09', 18 = 35, 19 = '2026-09-10', 20 = 36, 21 = '2026-09-11', 22 = 37, 23 = '2026-09-12', 24 = 38, 25 = '2026-09-13', 26 = 39, 27 = '2026-09-14', 28 = 40, 29 = '2026-08-05', 30 = '2026-08-05', 31 = '2026-09-15', 32 = 28, 33 = 28, 34 = 28

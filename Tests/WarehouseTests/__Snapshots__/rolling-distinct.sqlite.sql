-- value
WITH d AS (
  SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
  UNION ALL SELECT ? AS period, CAST(? AS INTEGER) AS evaluation_day
),
e AS (
  SELECT t."user_id" AS who, CAST(julianday(t."occurred_at") - julianday(?) AS INTEGER) AS active_day
  FROM "events" t
  WHERE t."occurred_at" >= ?
    AND t."occurred_at" < ?
    AND t."user_id" IS NOT NULL
),
s AS (
  SELECT active_day,
    LAG(active_day) OVER (PARTITION BY who ORDER BY active_day) AS previous_day,
    LEAD(active_day) OVER (PARTITION BY who ORDER BY active_day) AS next_day
  FROM e
),
g AS (
  SELECT boundary, SUM(step) AS step
  FROM (
    SELECT active_day AS boundary, 1 AS step FROM s
    WHERE previous_day IS NULL OR active_day >= previous_day + ?
    UNION ALL
    SELECT active_day + ? AS boundary, -1 AS step FROM s
    WHERE next_day IS NULL OR next_day >= active_day + ?
  ) x
  GROUP BY boundary
)
SELECT d.period AS period, CAST(SUM(g.step) AS REAL) AS value
FROM d
JOIN g ON g.boundary <= d.evaluation_day
GROUP BY d.period
HAVING SUM(g.step) > 0
ORDER BY 1
-- parameters: 1 = '2026-08-31', 2 = 6, 3 = '2026-09-07', 4 = 13, 5 = '2026-09-14', 6 = 14, 7 = '2026-08-31', 8 = '2026-08-31', 9 = '2026-09-15', 10 = 7, 11 = 7, 12 = 7

-- value
WITH d AS (
  SELECT CAST($1 AS VARCHAR) AS period, CAST($2 AS TIMESTAMP) AS lo, CAST($3 AS TIMESTAMP) AS hi
  UNION ALL SELECT CAST($4 AS VARCHAR) AS period, CAST($5 AS TIMESTAMP) AS lo, CAST($6 AS TIMESTAMP) AS hi
  UNION ALL SELECT CAST($7 AS VARCHAR) AS period, CAST($8 AS TIMESTAMP) AS lo, CAST($9 AS TIMESTAMP) AS hi
)
SELECT d.period AS period, CAST(COUNT(DISTINCT t."user_id") AS DOUBLE PRECISION) AS value
FROM d
JOIN "events" t ON t."occurred_at" >= d.lo
  AND t."occurred_at" < d.hi
GROUP BY d.period
ORDER BY 1
-- parameters: 1 = '2026-08-31', 2 = '2026-08-31', 3 = '2026-09-07', 4 = '2026-09-07', 5 = '2026-09-07', 6 = '2026-09-14', 7 = '2026-09-14', 8 = '2026-09-08', 9 = '2026-09-15'

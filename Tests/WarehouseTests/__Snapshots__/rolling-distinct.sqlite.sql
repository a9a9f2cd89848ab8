-- value
WITH d AS (
  SELECT ? AS period, ? AS lo, ? AS hi
  UNION ALL SELECT ? AS period, ? AS lo, ? AS hi
  UNION ALL SELECT ? AS period, ? AS lo, ? AS hi
)
SELECT d.period AS period, CAST(COUNT(DISTINCT t."user_id") AS REAL) AS value
FROM d
JOIN "events" t ON t."occurred_at" >= d.lo
  AND t."occurred_at" < d.hi
GROUP BY d.period
ORDER BY 1
-- parameters: 1 = '2026-08-31', 2 = '2026-08-31', 3 = '2026-09-07', 4 = '2026-09-07', 5 = '2026-09-07', 6 = '2026-09-14', 7 = '2026-09-14', 8 = '2026-09-08', 9 = '2026-09-15'

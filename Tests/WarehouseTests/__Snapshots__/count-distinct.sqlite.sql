-- value
SELECT date(t."occurred_at") AS period, CAST(COUNT(DISTINCT t."user_id") AS REAL) AS value
FROM "events" t
WHERE t."occurred_at" >= ?
  AND t."occurred_at" < ?
GROUP BY date(t."occurred_at")
ORDER BY 1
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15'

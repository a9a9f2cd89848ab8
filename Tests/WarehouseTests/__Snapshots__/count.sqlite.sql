-- value
SELECT date(t."signed_up_at") AS period, CAST(COUNT(*) AS REAL) AS value
FROM "users" t
WHERE t."signed_up_at" >= ?
  AND t."signed_up_at" < ?
GROUP BY date(t."signed_up_at")
ORDER BY 1
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15'

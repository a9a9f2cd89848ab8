-- value
SELECT date(t."month", '-6 days', 'weekday 1') AS period, AVG(CAST(t."seats" AS REAL)) AS value
FROM "mrr_monthly" t
WHERE t."month" >= ?
  AND t."month" < ?
GROUP BY date(t."month", '-6 days', 'weekday 1')
ORDER BY 1
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15'

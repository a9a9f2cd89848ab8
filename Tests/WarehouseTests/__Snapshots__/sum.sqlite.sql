-- value
SELECT strftime('%Y-%m-01', t."spend_date") AS period, SUM(CAST(t."spend_usd" AS REAL)) AS value
FROM "ad_spend" t
WHERE t."spend_date" >= ?
  AND t."spend_date" < ?
GROUP BY strftime('%Y-%m-01', t."spend_date")
ORDER BY 1
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15'

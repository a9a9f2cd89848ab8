-- value
SELECT TO_CHAR(DATE_TRUNC('month', CAST(t."spend_date" AS TIMESTAMP)), 'YYYY-MM-DD') AS period, SUM(CAST(t."spend_usd" AS DOUBLE PRECISION)) AS value
FROM "ad_spend" t
WHERE t."spend_date" >= CAST($1 AS DATE)
  AND t."spend_date" < CAST($2 AS DATE)
GROUP BY TO_CHAR(DATE_TRUNC('month', CAST(t."spend_date" AS TIMESTAMP)), 'YYYY-MM-DD')
ORDER BY 1
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15'

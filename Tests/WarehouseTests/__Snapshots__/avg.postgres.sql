-- value
SELECT TO_CHAR(DATE_TRUNC('week', CAST(t."month" AS TIMESTAMP)), 'YYYY-MM-DD') AS period, AVG(CAST(t."seats" AS DOUBLE PRECISION)) AS value
FROM "mrr_monthly" t
WHERE t."month" >= CAST($1 AS DATE)
  AND t."month" < CAST($2 AS DATE)
GROUP BY TO_CHAR(DATE_TRUNC('week', CAST(t."month" AS TIMESTAMP)), 'YYYY-MM-DD')
ORDER BY 1
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15'

-- value
SELECT TO_CHAR(CAST(t."occurred_at" AS DATE), 'YYYY-MM-DD') AS period, CAST(COUNT(DISTINCT t."user_id") AS DOUBLE PRECISION) AS value
FROM "events" t
WHERE t."occurred_at" >= CAST($1 AS TIMESTAMP)
  AND t."occurred_at" < CAST($2 AS TIMESTAMP)
GROUP BY TO_CHAR(CAST(t."occurred_at" AS DATE), 'YYYY-MM-DD')
ORDER BY 1
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15'

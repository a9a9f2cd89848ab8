-- value
SELECT TO_CHAR(CAST(t."signed_up_at" AS DATE), 'YYYY-MM-DD') AS period, CAST(COUNT(*) AS DOUBLE PRECISION) AS value
FROM "users" t
WHERE t."signed_up_at" >= CAST($1 AS TIMESTAMP)
  AND t."signed_up_at" < CAST($2 AS TIMESTAMP)
  AND t."channel" IN (CAST($3 AS VARCHAR), CAST($4 AS VARCHAR))
  AND t."activated" = $5
GROUP BY TO_CHAR(CAST(t."signed_up_at" AS DATE), 'YYYY-MM-DD')
ORDER BY 1
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15', 3 = 'twitter', 4 = 'search', 5 = TRUE

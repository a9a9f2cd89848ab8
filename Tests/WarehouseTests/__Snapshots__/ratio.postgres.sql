-- numerator
SELECT TO_CHAR(DATE_TRUNC('week', CAST(t."signed_up_at" AS TIMESTAMP)), 'YYYY-MM-DD') AS period, CAST(t."channel" AS VARCHAR) AS dimension, CAST(COUNT(*) AS DOUBLE PRECISION) AS value
FROM "users" t
WHERE t."signed_up_at" >= CAST($1 AS TIMESTAMP)
  AND t."signed_up_at" < CAST($2 AS TIMESTAMP)
  AND t."activated" = $3
GROUP BY TO_CHAR(DATE_TRUNC('week', CAST(t."signed_up_at" AS TIMESTAMP)), 'YYYY-MM-DD'), CAST(t."channel" AS VARCHAR)
ORDER BY 1, 2
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15', 3 = TRUE

-- denominator
SELECT TO_CHAR(DATE_TRUNC('week', CAST(t."signed_up_at" AS TIMESTAMP)), 'YYYY-MM-DD') AS period, CAST(t."channel" AS VARCHAR) AS dimension, CAST(COUNT(*) AS DOUBLE PRECISION) AS value
FROM "users" t
WHERE t."signed_up_at" >= CAST($1 AS TIMESTAMP)
  AND t."signed_up_at" < CAST($2 AS TIMESTAMP)
GROUP BY TO_CHAR(DATE_TRUNC('week', CAST(t."signed_up_at" AS TIMESTAMP)), 'YYYY-MM-DD'), CAST(t."channel" AS VARCHAR)
ORDER BY 1, 2
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15'

-- numerator
SELECT date(t."signed_up_at", '-6 days', 'weekday 1') AS period, CAST(t."channel" AS TEXT) AS dimension, CAST(COUNT(*) AS REAL) AS value
FROM "users" t
WHERE t."signed_up_at" >= ?
  AND t."signed_up_at" < ?
  AND t."activated" = ?
GROUP BY date(t."signed_up_at", '-6 days', 'weekday 1'), CAST(t."channel" AS TEXT)
ORDER BY 1, 2
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15', 3 = TRUE

-- denominator
SELECT date(t."signed_up_at", '-6 days', 'weekday 1') AS period, CAST(t."channel" AS TEXT) AS dimension, CAST(COUNT(*) AS REAL) AS value
FROM "users" t
WHERE t."signed_up_at" >= ?
  AND t."signed_up_at" < ?
GROUP BY date(t."signed_up_at", '-6 days', 'weekday 1'), CAST(t."channel" AS TEXT)
ORDER BY 1, 2
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15'

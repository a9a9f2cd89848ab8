-- value
SELECT date(t."signed_up_at", '-6 days', 'weekday 1') AS period, CAST(t."platform" AS TEXT) AS dimension, CAST(COUNT(*) AS REAL) AS value
FROM "users" t
WHERE t."signed_up_at" >= ?
  AND t."signed_up_at" < ?
  AND t."channel" = ?
GROUP BY date(t."signed_up_at", '-6 days', 'weekday 1'), CAST(t."platform" AS TEXT)
ORDER BY 1, 2
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15', 3 = 'twitter'

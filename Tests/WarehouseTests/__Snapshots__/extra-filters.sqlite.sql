-- value
SELECT date(t."signed_up_at") AS period, CAST(COUNT(*) AS REAL) AS value
FROM "users" t
WHERE t."signed_up_at" >= ?
  AND t."signed_up_at" < ?
  AND t."channel" IN (?, ?)
  AND t."activated" = ?
GROUP BY date(t."signed_up_at")
ORDER BY 1
-- parameters: 1 = '2026-09-01', 2 = '2026-09-15', 3 = 'twitter', 4 = 'search', 5 = TRUE

import DemoCompany
import GRDB
import Testing

/// The support desk's tickets (`support_tickets`), checked on the shared tiny warehouse.
@Suite("Demo company support tickets", .timeLimit(.minutes(10)))
struct SupportTicketTests {
    let queue: DatabaseQueue

    init() throws {
        queue = try SharedWarehouse.get().open()
    }

    @Test("values are the documented ones, timestamps are consistent and open tickets have no answer yet")
    func wellFormed() throws {
        let checks = [
            "queue NOT IN ('billing', 'sync', 'integrations', 'how-to', 'bug', 'account')",
            "priority NOT IN ('low', 'normal', 'high', 'urgent')",
            "channel NOT IN ('email', 'chat', 'web')",
            "status NOT IN ('open', 'solved')",
            "created_date != substr(created_at, 1, 10) OR created_at != datetime(created_at)",
            "created_at > '2026-11-25 23:59:59' OR created_at < '2024-11-26'",
            "first_response_at <= created_at OR solved_at < first_response_at",
            "first_response_at > '2026-11-25 23:59:59' OR solved_at > '2026-11-25 23:59:59'",
            "(first_response_at IS NULL) != (first_response_minutes IS NULL)",
            "first_response_minutes != (strftime('%s', first_response_at) - strftime('%s', created_at)) / 60",
            "(status = 'solved') != (solved_at IS NOT NULL)",
            "csat IS NOT NULL AND (status != 'solved' OR csat NOT BETWEEN 1 AND 5)",
            "solved_at IS NOT NULL AND first_response_at IS NULL",
            "subject = ''",
        ]
        for check in checks {
            #expect(try queue.int("SELECT count(*) FROM support_tickets WHERE \(check)") == 0, "\(check)")
        }
        #expect(
            try queue.int("SELECT count(*) FROM support_tickets WHERE ticket_id != rowid") == 0)
        #expect(
            try queue.int(
                "SELECT count(*) FROM support_tickets a JOIN support_tickets b ON b.ticket_id = a.ticket_id + 1 WHERE b.created_at < a.created_at"
            ) == 0, "ticket ids follow creation")
        // Every queue has a few subjects, and some tickets come from people without an account.
        #expect(
            try queue.int(
                "SELECT min(n) FROM (SELECT count(DISTINCT subject) AS n FROM support_tickets GROUP BY queue)") >= 4)
        #expect(try queue.int("SELECT count(DISTINCT queue) FROM support_tickets") == 6)
        #expect(try queue.int("SELECT count(*) FROM support_tickets WHERE user_id IS NULL") > 0)
    }

    @Test("tickets belong to existing people and workspaces, and an error-led ticket follows its error")
    func references() throws {
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM support_tickets t LEFT JOIN users u USING (user_id)
                WHERE t.user_id IS NOT NULL AND (u.user_id IS NULL OR u.workspace_id != t.workspace_id
                    OR t.created_at <= u.signed_up_at)
                """) == 0)
        #expect(
            try queue.int(
                "SELECT count(*) FROM support_tickets t LEFT JOIN workspaces w USING (workspace_id) WHERE w.workspace_id IS NULL"
            ) == 0)
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM support_tickets t LEFT JOIN error_logs e USING (error_id)
                WHERE t.error_id IS NOT NULL AND (e.error_id IS NULL OR e.workspace_id != t.workspace_id
                    OR e.user_id != t.user_id OR t.created_at < e.occurred_at)
                """) == 0)
        // Most fatal errors lead to a ticket; warnings rarely do.
        let fatal = try queue.double(
            """
            SELECT avg(EXISTS (SELECT 1 FROM support_tickets t WHERE t.error_id = e.error_id))
            FROM error_logs e WHERE severity = 'fatal' AND error_date NOT BETWEEN '2026-07-07' AND '2026-07-08'
            """)
        #expect(fatal > 0.2 && fatal < 0.6, "share of fatal errors with a ticket \(fatal)")
    }

    @Test("about one ticket a week per 15–30 weekly active users, mostly on weekdays")
    func volume() throws {
        let tickets = try queue.double(
            "SELECT count(*) FROM support_tickets WHERE created_date BETWEEN '2026-09-28' AND '2026-11-22'")
        let weeklyActive = try queue.double(
            """
            SELECT count(*) FROM (SELECT DISTINCT strftime('%W', event_date), user_id FROM events
            WHERE event_date BETWEEN '2026-09-28' AND '2026-11-22')
            """)
        let perTicket = weeklyActive / tickets
        #expect(perTicket > 15 && perTicket < 30, "weekly active users per ticket \(perTicket)")
        let weekday = try queue.double(
            """
            SELECT count(*) / 5.0 FROM support_tickets WHERE strftime('%w', created_date) NOT IN ('0', '6')
            AND created_date BETWEEN '2025-01-06' AND '2026-11-22'
            """)
        let weekend = try queue.double(
            """
            SELECT count(*) / 2.0 FROM support_tickets WHERE strftime('%w', created_date) IN ('0', '6')
            AND created_date BETWEEN '2025-01-06' AND '2026-11-22'
            """)
        #expect(weekday > weekend * 2, "tickets per weekday \(weekday) vs weekend day \(weekend)")
        let early = try queue.int(
            "SELECT count(*) FROM support_tickets WHERE created_date BETWEEN '2025-01-06' AND '2025-03-02'")
        let late = try queue.int(
            "SELECT count(*) FROM support_tickets WHERE created_date BETWEEN '2026-06-01' AND '2026-07-26'")
        #expect(Double(late) > Double(early) * 1.3, "tickets grow with the users: \(early) → \(late)")
    }

    @Test("the sync outage, the new pricing and the app marketplace each bring their tickets")
    func stories() throws {
        func count(_ condition: String) throws -> Double {
            try queue.double("SELECT count(*) FROM support_tickets WHERE \(condition)")
        }
        let syncBefore = try count("queue = 'sync' AND created_date BETWEEN '2026-06-23' AND '2026-07-06'") / 14
        let syncOutage = try count("queue = 'sync' AND created_date BETWEEN '2026-07-07' AND '2026-07-08'") / 2
        #expect(syncOutage > max(5, syncBefore * 5), "sync tickets/day \(syncBefore) → \(syncOutage)")
        let outageLinked = try count(
            "queue = 'sync' AND created_date BETWEEN '2026-07-07' AND '2026-07-08' AND error_id IS NOT NULL")
        #expect(
            outageLinked > syncOutage, "most outage sync tickets name their error: \(outageLinked) of \(syncOutage * 2)"
        )
        let billingBefore = try count("queue = 'billing' AND created_date BETWEEN '2025-12-09' AND '2026-01-19'")
        let billingAfter = try count("queue = 'billing' AND created_date BETWEEN '2026-01-20' AND '2026-03-02'")
        #expect(billingAfter > billingBefore * 1.6, "billing tickets \(billingBefore) → \(billingAfter)")
        let integrationsBefore = try count(
            "queue = 'integrations' AND created_date BETWEEN '2026-08-04' AND '2026-09-14'")
        let integrationsAfter = try count(
            "queue = 'integrations' AND created_date BETWEEN '2026-09-15' AND '2026-10-26'")
        #expect(
            integrationsAfter > integrationsBefore * 2,
            "integrations tickets \(integrationsBefore) → \(integrationsAfter)")
    }

    @Test(
        "urgent and high tickets are answered faster; satisfaction is mostly 4–5, worse when slow and at the declining majors"
    )
    func responseAndSatisfaction() throws {
        func medianMinutes(_ priority: String) throws -> Double {
            try queue.double(
                """
                SELECT first_response_minutes FROM support_tickets WHERE priority = '\(priority)'
                AND first_response_minutes IS NOT NULL ORDER BY first_response_minutes
                LIMIT 1 OFFSET (SELECT count(first_response_minutes) / 2 FROM support_tickets WHERE priority = '\(priority)')
                """)
        }
        let urgent = try medianMinutes("urgent")
        let high = try medianMinutes("high")
        let normal = try medianMinutes("normal")
        let low = try medianMinutes("low")
        #expect(
            urgent < 60 && urgent < high && high < normal && normal < low,
            "medians \(urgent), \(high), \(normal), \(low)")
        let happy = try queue.double("SELECT avg(csat >= 4) FROM support_tickets WHERE csat IS NOT NULL")
        #expect(happy > 0.7 && happy < 0.95, "share of 4–5 ratings \(happy)")
        let rated = try queue.double("SELECT avg(csat IS NOT NULL) FROM support_tickets WHERE status = 'solved'")
        #expect(rated > 0.3 && rated < 0.6, "share of solved tickets rated \(rated)")
        let fast = try queue.double("SELECT avg(csat) FROM support_tickets WHERE first_response_minutes < 60")
        let slow = try queue.double("SELECT avg(csat) FROM support_tickets WHERE first_response_minutes > 1440")
        #expect(slow < fast - 0.3, "CSAT \(fast) when answered within the hour, \(slow) after a day")
        let decliners = try queue.double(
            """
            SELECT avg(csat) FROM support_tickets JOIN workspaces USING (workspace_id)
            WHERE domain IN ('globex.com', 'initech.com', 'umbrella.co') AND created_date >= '2026-06-17'
            """)
        let others = try queue.double(
            """
            SELECT avg(csat) FROM support_tickets JOIN workspaces USING (workspace_id)
            WHERE tier = 'major' AND domain NOT IN ('globex.com', 'initech.com', 'umbrella.co')
            AND created_date >= '2026-06-17'
            """)
        #expect(decliners < others - 0.4, "declining majors' CSAT \(decliners) vs other majors' \(others)")
        // The last days still have open tickets; a month back everything is solved.
        #expect(
            try queue.int("SELECT count(*) FROM support_tickets WHERE status = 'open' AND created_date >= '2026-11-20'")
                > 0)
        let stale = try queue.double(
            "SELECT avg(status = 'open') FROM support_tickets WHERE created_date BETWEEN '2026-09-01' AND '2026-10-15'")
        #expect(stale < 0.01, "share of September tickets still open \(stale)")
    }
}

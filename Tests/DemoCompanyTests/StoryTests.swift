import DemoCompany
import GRDB
import Testing

/// The shapes `docs/demo-company.md` promises, checked on the shared tiny warehouse.
@Suite("Demo company story", .timeLimit(.minutes(10)))
struct StoryTests {
    let queue: DatabaseQueue

    init() throws {
        queue = try SharedWarehouse.get().open()
    }

    /// Average rows per distinct day among the rows matching `condition`.
    private func perDay(_ table: String, _ dateColumn: String, _ condition: String) throws -> Double {
        try queue.double(
            "SELECT count(*) * 1.0 / max(1, count(DISTINCT \(dateColumn))) FROM \(table) WHERE \(condition)")
    }

    @Test("weekdays carry about 2.5 times the weekend volume of events and sign-ups")
    func weekdaySeasonality() throws {
        let weekday = "strftime('%w', event_date) NOT IN ('0', '6')"
        let weekend = "strftime('%w', event_date) IN ('0', '6')"
        let eventRatio = try perDay("events", "event_date", weekday) / perDay("events", "event_date", weekend)
        #expect(eventRatio > 2.1 && eventRatio < 2.9, "events weekday/weekend = \(eventRatio)")
        let inWindow = "signup_date >= '2024-11-26'"
        let signupRatio =
            try perDay("users", "signup_date", "\(inWindow) AND strftime('%w', signup_date) NOT IN ('0', '6')")
            / perDay("users", "signup_date", "\(inWindow) AND strftime('%w', signup_date) IN ('0', '6')")
        #expect(signupRatio > 2.0 && signupRatio < 3.0, "sign-ups weekday/weekend = \(signupRatio)")
    }

    @Test("sign-ups grow over the two years and dip at the December holidays")
    func growthAndHolidays() throws {
        let early = try queue.int("SELECT count(*) FROM users WHERE signup_date BETWEEN '2025-01-06' AND '2025-03-02'")
        let late = try queue.int("SELECT count(*) FROM users WHERE signup_date BETWEEN '2026-06-01' AND '2026-07-26'")
        #expect(Double(late) > Double(early) * 1.3, "sign-ups \(early) → \(late)")
        let holidays = try perDay("events", "event_date", "event_date BETWEEN '2025-12-22' AND '2026-01-01'")
        let before = try perDay("events", "event_date", "event_date BETWEEN '2025-12-01' AND '2025-12-11'")
        #expect(holidays < before * 0.75, "holiday events/day \(holidays) vs \(before)")
    }

    @Test("launches show on their exact dates")
    func launches() throws {
        #expect(
            try queue.string("SELECT min(event_date) FROM events WHERE event_name = 'timeline_viewed'") == "2025-03-11")
        let mobileBefore = try queue.double(
            "SELECT avg(platform != 'web') FROM events WHERE event_date BETWEEN '2025-05-01' AND '2025-06-16'")
        let mobileAfter = try queue.double(
            "SELECT avg(platform != 'web') FROM events WHERE event_date BETWEEN '2025-08-01' AND '2025-09-15'")
        #expect(mobileAfter > mobileBefore * 1.2, "mobile share of events \(mobileBefore) → \(mobileAfter)")
        let mobileSignupsBefore = try queue.double(
            "SELECT avg(platform != 'web') FROM users WHERE signup_date BETWEEN '2025-05-01' AND '2025-06-16'")
        let mobileSignupsAfter = try queue.double(
            "SELECT avg(platform != 'web') FROM users WHERE signup_date BETWEEN '2025-06-17' AND '2025-08-01'")
        #expect(mobileSignupsAfter > mobileSignupsBefore * 1.4)
        let appsBefore = try queue.int(
            "SELECT count(*) FROM events WHERE event_name = 'app_used' AND event_date BETWEEN '2026-08-15' AND '2026-09-14'"
        )
        let appsAfter = try queue.int(
            "SELECT count(*) FROM events WHERE event_name = 'app_used' AND event_date BETWEEN '2026-10-26' AND '2026-11-25'"
        )
        #expect(Double(appsAfter) > Double(appsBefore) * 4, "app_used \(appsBefore) → \(appsAfter)")
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM events e JOIN apps a USING (app_id)
                WHERE e.event_date < a.launched_on OR (e.event_name = 'app_used') != (e.app_id IS NOT NULL)
                """) == 0)
        let upgradesBefore = try queue.int(
            """
            SELECT count(*) FROM billing_events WHERE kind = 'upgrade' AND plan_to = 'business'
            AND plan_from != 'business' AND occurred_on BETWEEN '2025-12-09' AND '2026-01-19'
            """)
        let upgradesAfter = try queue.int(
            """
            SELECT count(*) FROM billing_events WHERE kind = 'upgrade' AND plan_to = 'business'
            AND plan_from != 'business' AND occurred_on BETWEEN '2026-01-20' AND '2026-03-02'
            """)
        #expect(upgradesAfter > upgradesBefore * 3, "upgrades to business \(upgradesBefore) → \(upgradesAfter)")
    }

    @Test("referral sign-ups roughly double after 2025-09-09")
    func referralProgramme() throws {
        let before = try queue.int(
            "SELECT count(*) FROM users WHERE channel = 'referral' AND signup_date BETWEEN '2025-07-15' AND '2025-09-08'"
        )
        let after = try queue.int(
            "SELECT count(*) FROM users WHERE channel = 'referral' AND signup_date BETWEEN '2025-09-09' AND '2025-11-03'"
        )
        let ratio = Double(after) / Double(max(1, before))
        #expect(ratio > 1.6 && ratio < 2.8, "referral sign-ups \(before) → \(after)")
    }

    @Test("twitter sign-ups spike during the spring campaign and are attributed to it")
    func twitterCampaign() throws {
        let before = try queue.int(
            "SELECT count(*) FROM users WHERE channel = 'twitter' AND signup_date BETWEEN '2026-03-17' AND '2026-04-13'"
        )
        let during = try queue.int(
            "SELECT count(*) FROM users WHERE channel = 'twitter' AND signup_date BETWEEN '2026-04-14' AND '2026-05-11'"
        )
        #expect(Double(during) > Double(before) * 3, "twitter sign-ups \(before) → \(during)")
        let attributed = try queue.int(
            """
            SELECT count(*) FROM users u JOIN campaigns c USING (campaign_id)
            WHERE c.slug = 'spring-twitter-2026' AND u.signup_date BETWEEN c.started_on AND c.ended_on
            AND u.channel = 'twitter'
            """)
        #expect(Double(attributed) > Double(during) * 0.5)
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM users u JOIN campaigns c USING (campaign_id)
                WHERE u.signup_date NOT BETWEEN c.started_on AND c.ended_on OR u.channel != c.channel
                """) == 0)
        let spend = try queue.double(
            "SELECT sum(spend_usd) FROM ad_spend JOIN campaigns USING (campaign_id) WHERE slug = 'spring-twitter-2026'")
        #expect(spend > 120_000 && spend < 180_000, "spring campaign spend \(spend)")
    }

    @Test("sync errors spike on 2026-07-07 and 08 and events dip")
    func syncOutage() throws {
        let weekBefore = try queue.double(
            "SELECT count(*) / 7.0 FROM error_logs WHERE service = 'sync' AND error_date BETWEEN '2026-06-30' AND '2026-07-06'"
        )
        let outage = try queue.int(
            "SELECT count(*) FROM error_logs WHERE service = 'sync' AND error_date = '2026-07-07'")
        let nextDay = try queue.int(
            "SELECT count(*) FROM error_logs WHERE service = 'sync' AND error_date = '2026-07-08'")
        #expect(Double(outage) > max(10, weekBefore * 8), "sync errors \(weekBefore)/day → \(outage)")
        #expect(Double(nextDay) > max(5, weekBefore * 5))
        let eventsOutage = try queue.int("SELECT count(*) FROM events WHERE event_date = '2026-07-07'")
        let eventsWeekBefore = try queue.int("SELECT count(*) FROM events WHERE event_date = '2026-06-30'")
        #expect(Double(eventsOutage) < Double(eventsWeekBefore) * 0.8)
    }

    @Test(
        "globex.com, initech.com and umbrella.co lose weekly active users from August; umbrella.co churns in November")
    func decliningCustomers() throws {
        for domain in ["globex.com", "initech.com", "umbrella.co"] {
            let tier = try queue.string("SELECT tier FROM workspaces WHERE domain = '\(domain)'")
            #expect(tier == "major")
            let july = try queue.int(
                """
                SELECT count(DISTINCT user_id) FROM events JOIN workspaces USING (workspace_id)
                WHERE domain = '\(domain)' AND event_date BETWEEN '2026-07-06' AND '2026-07-12'
                """)
            let november = try queue.int(
                """
                SELECT count(DISTINCT user_id) FROM events JOIN workspaces USING (workspace_id)
                WHERE domain = '\(domain)' AND event_date BETWEEN '2026-11-09' AND '2026-11-15'
                """)
            #expect(july >= 10, "\(domain) has \(july) weekly active users in July")
            #expect(Double(november) < Double(july) * 0.6, "\(domain) WAU \(july) → \(november)")
            let health = try queue.string(
                "SELECT health FROM crm_accounts JOIN workspaces USING (workspace_id) WHERE domain = '\(domain)'")
            #expect(health == "red")
        }
        let churns = try queue.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT domain FROM billing_events JOIN workspaces USING (workspace_id)
                    WHERE kind = 'churn' AND tier = 'major' AND occurred_on BETWEEN '2026-11-01' AND '2026-11-30'
                    """)
        }
        #expect(churns == ["umbrella.co"])
        #expect(try queue.string("SELECT plan FROM workspaces WHERE domain = 'umbrella.co'") == "free")
        #expect(try queue.int("SELECT count(*) FROM workspaces WHERE (plan = 'free') != (seats = 0)") == 0)
        // A healthy major keeps its users.
        let acmeJuly = try queue.int(
            """
            SELECT count(DISTINCT user_id) FROM events JOIN workspaces USING (workspace_id)
            WHERE domain = 'acme.com' AND event_date BETWEEN '2026-07-06' AND '2026-07-12'
            """)
        let acmeNovember = try queue.int(
            """
            SELECT count(DISTINCT user_id) FROM events JOIN workspaces USING (workspace_id)
            WHERE domain = 'acme.com' AND event_date BETWEEN '2026-11-09' AND '2026-11-15'
            """)
        #expect(Double(acmeNovember) > Double(acmeJuly) * 0.7, "acme.com WAU \(acmeJuly) → \(acmeNovember)")
    }

    @Test("onboarding-checklist treatment converts about 12% better; pricing-page-annual does not differ")
    func experiments() throws {
        func rate(_ experiment: String, _ variant: String) throws -> Double {
            try queue.double(
                """
                SELECT avg(c.user_id IS NOT NULL) FROM experiment_assignments a
                LEFT JOIN experiment_conversions c USING (experiment_id, user_id)
                WHERE a.experiment_id = '\(experiment)' AND a.variant = '\(variant)'
                """)
        }
        let control = try rate("onboarding-checklist", "control")
        let treatment = try rate("onboarding-checklist", "treatment")
        #expect(treatment > control)
        #expect(treatment / control > 1.06 && treatment / control < 1.2, "lift \(treatment / control)")
        let pricingControl = try rate("pricing-page-annual", "control")
        let pricingTreatment = try rate("pricing-page-annual", "treatment")
        #expect(abs(pricingTreatment - pricingControl) < 0.01)
        #expect(try queue.string("SELECT status FROM experiments WHERE experiment_id = 'invite-nudge'") == "running")
        #expect(
            try queue.int("SELECT count(*) FROM experiments WHERE experiment_id = 'invite-nudge' AND ended_on IS NULL")
                == 1)
        // Conversions come after assignment, and onboarding conversions are activations.
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM experiment_conversions c JOIN experiment_assignments a USING (experiment_id, user_id)
                WHERE c.converted_at < a.assigned_at
                """) == 0)
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM experiment_conversions c JOIN users u USING (user_id)
                WHERE c.experiment_id = 'onboarding-checklist' AND c.converted_at IS NOT u.activated_at
                """) == 0)
        #expect(
            try queue.int("SELECT count(*) FROM experiment_conversions WHERE converted_on != date(converted_at)") == 0)
    }

    @Test("every event, error and assignment belongs to a user who existed and had signed up before")
    func referentialIntegrity() throws {
        #expect(
            try queue.int("SELECT count(*) FROM events e LEFT JOIN users u USING (user_id) WHERE u.user_id IS NULL")
                == 0)
        #expect(
            try queue.int(
                "SELECT count(*) FROM events e JOIN users u USING (user_id) WHERE e.occurred_at <= u.signed_up_at")
                == 0)
        #expect(
            try queue.int(
                "SELECT count(*) FROM events e JOIN users u USING (user_id) WHERE e.workspace_id != u.workspace_id")
                == 0)
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM error_logs e JOIN users u USING (user_id)
                WHERE e.occurred_at <= u.signed_up_at OR e.workspace_id != u.workspace_id
                """) == 0)
        #expect(
            try queue.int("SELECT count(*) FROM error_logs e LEFT JOIN users u USING (user_id) WHERE u.user_id IS NULL")
                == 0)
        #expect(
            try queue.int(
                "SELECT count(*) FROM users u JOIN workspaces w USING (workspace_id) WHERE u.signed_up_at < w.created_at"
            )
                == 0)
        #expect(
            try queue.int(
                "SELECT count(*) FROM users u LEFT JOIN workspaces w USING (workspace_id) WHERE w.workspace_id IS NULL")
                == 0)
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM experiment_assignments a JOIN users u USING (user_id)
                WHERE a.assigned_at < u.signed_up_at
                """) == 0)
        for table in ["subscriptions", "billing_events", "mrr_monthly", "crm_accounts"] {
            #expect(
                try queue.int(
                    "SELECT count(*) FROM \(table) t LEFT JOIN workspaces w USING (workspace_id) WHERE w.workspace_id IS NULL"
                )
                    == 0, "\(table) has unknown workspaces")
        }
        #expect(
            try queue.int("SELECT count(*) FROM users u LEFT JOIN cities c USING (city, country) WHERE c.city IS NULL")
                == 0)
    }

    @Test("dates equal the date part of their timestamps and stay inside history")
    func datesMatchTimestamps() throws {
        for (table, date, timestamp) in [
            ("events", "event_date", "occurred_at"), ("error_logs", "error_date", "occurred_at"),
            ("users", "signup_date", "signed_up_at"), ("workspaces", "created_on", "created_at"),
            ("experiment_assignments", "assigned_on", "assigned_at"),
        ] {
            #expect(try queue.int("SELECT count(*) FROM \(table) WHERE \(date) != substr(\(timestamp), 1, 10)") == 0)
            #expect(try queue.int("SELECT count(*) FROM \(table) WHERE \(timestamp) != datetime(\(timestamp))") == 0)
        }
        #expect(try queue.string("SELECT min(event_date) FROM events") == "2024-11-26")
        #expect(try queue.string("SELECT max(event_date) FROM events") == "2026-11-25")
        #expect(try queue.int("SELECT count(DISTINCT event_date) FROM events") == 730)
        #expect(try queue.int("SELECT count(*) FROM users WHERE signed_up_at > '2026-11-25 23:59:59'") == 0)
    }

    @Test("activation means a first task within seven days, and the product and billing tables agree")
    func activationAndBilling() throws {
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM users WHERE activated = 1 AND (activated_at IS NULL
                OR activated_at > datetime(signed_up_at, '+7 days') OR activated_at <= signed_up_at)
                """) == 0)
        #expect(try queue.int("SELECT count(*) FROM users WHERE activated = 0 AND activated_at IS NOT NULL") == 0)
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM users u WHERE activated = 1 AND activated_at >= '2024-11-26' AND NOT EXISTS (
                    SELECT 1 FROM events e WHERE e.user_id = u.user_id AND e.event_name = 'task_created'
                    AND e.occurred_at = u.activated_at)
                """) == 0)
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM events e JOIN users u USING (user_id) WHERE e.event_name = 'task_created'
                AND ((u.activated = 0 AND e.occurred_at < datetime(u.signed_up_at, '+7 days'))
                    OR (u.activated = 1 AND e.occurred_at < u.activated_at))
                """) == 0)
        // MRR per month equals the open subscriptions; workspaces show their last subscription.
        #expect(
            try queue.int(
                """
                SELECT count(*) FROM workspaces w WHERE w.plan != coalesce((SELECT s.plan FROM subscriptions s
                    WHERE s.workspace_id = w.workspace_id AND s.ended_on IS NULL), 'free')
                """) == 0)
        let mrrNow = try queue.double("SELECT sum(mrr_usd) FROM mrr_monthly WHERE month = '2026-11-01'")
        let openMRR = try queue.double("SELECT sum(mrr_usd) FROM subscriptions WHERE ended_on IS NULL")
        #expect(abs(mrrNow - openMRR) < 0.01)
        let deltas = try queue.double("SELECT sum(mrr_delta_usd) FROM billing_events")
        #expect(abs(deltas - openMRR) < 1)
        let mrrStart = try queue.double("SELECT sum(mrr_usd) FROM mrr_monthly WHERE month = '2024-12-01'")
        #expect(mrrNow > mrrStart * 1.5)
    }
}

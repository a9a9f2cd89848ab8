import DemoCompany
import GRDB
import Testing

/// How deeply people use the product week by week (the ocean chart's layers), checked on the
/// shared tiny warehouse.
@Suite("Demo company engagement", .timeLimit(.minutes(10)))
struct EngagementTests {
    let queue: DatabaseQueue

    init() throws {
        queue = try SharedWarehouse.get().open()
    }

    /// People summed over the weeks (Mondays) `first`…`last`: everyone signed up by each week's
    /// end, and the active ones by active days that week (light 1, regular 2–3, power 4+).
    struct Layers {
        var population = 0
        var light = 0
        var regular = 0
        var power = 0

        var active: Int { light + regular + power }
        var activeShare: Double { Double(active) / Double(max(1, population)) }
        func share(_ count: Int) -> Double { Double(count) / Double(max(1, active)) }
    }

    func layers(from first: String, to last: String, domain: String? = nil) throws -> Layers {
        let scope =
            domain.map { "AND workspace_id = (SELECT workspace_id FROM workspaces WHERE domain = '\($0)')" } ?? ""
        let row = try queue.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    WITH RECURSIVE weeks(week) AS (
                      SELECT '\(first)' UNION ALL SELECT date(week, '+7 days') FROM weeks WHERE week < '\(last)'
                    ),
                    active AS (
                      SELECT date(event_date, '-' || ((strftime('%w', event_date) + 6) % 7) || ' days') AS week,
                             user_id, count(DISTINCT event_date) AS days
                      FROM events
                      WHERE event_date BETWEEN '\(first)' AND date('\(last)', '+6 days') \(scope)
                      GROUP BY 1, 2
                    )
                    SELECT
                      (SELECT sum((SELECT count(*) FROM users WHERE signup_date <= date(week, '+6 days') \(scope)))
                       FROM weeks) AS population,
                      coalesce(sum(days = 1), 0) AS light, coalesce(sum(days BETWEEN 2 AND 3), 0) AS regular,
                      coalesce(sum(days >= 4), 0) AS power
                    FROM active
                    """)
        }
        guard let row else { return Layers() }
        return Layers(population: row["population"], light: row["light"], regular: row["regular"], power: row["power"])
    }

    @Test(
        "over the last year a third to a half of everyone is active each week: about a quarter power, 40% regular, 35% light"
    )
    func oceanLayers() throws {
        let year = try layers(from: "2025-11-24", to: "2026-11-16")
        #expect(year.activeShare > 0.3 && year.activeShare < 0.55, "weekly active share \(year.activeShare)")
        #expect(year.share(year.power) > 0.18 && year.share(year.power) < 0.32, "power \(year.share(year.power))")
        #expect(
            year.share(year.regular) > 0.32 && year.share(year.regular) < 0.47, "regular \(year.share(year.regular))")
        #expect(year.share(year.light) > 0.28 && year.share(year.light) < 0.45, "light \(year.share(year.light))")
        // A healthy major customer has depth too, and grows.
        let acmeSpring = try layers(from: "2026-03-02", to: "2026-04-20", domain: "acme.com")
        let acmeAutumn = try layers(from: "2026-09-28", to: "2026-11-16", domain: "acme.com")
        #expect(acmeSpring.activeShare > 0.25, "acme.com weekly active share \(acmeSpring.activeShare)")
        #expect(acmeSpring.share(acmeSpring.power + acmeSpring.regular) > 0.5)
        #expect(acmeAutumn.active >= acmeSpring.active, "acme.com WAU \(acmeSpring.active) → \(acmeAutumn.active)")
    }

    @Test("new sign-ups start engaged and some go dormant within weeks")
    func onboardingWave() throws {
        // Of the people who signed up in one month, the share active in their first weeks and two months on.
        func activeShare(_ from: String, _ to: String) throws -> Double {
            try queue.double(
                """
                SELECT avg(EXISTS (SELECT 1 FROM events e WHERE e.user_id = u.user_id
                    AND e.event_date BETWEEN '\(from)' AND '\(to)'))
                FROM users u WHERE u.signup_date BETWEEN '2026-03-01' AND '2026-03-14'
                """)
        }
        let early = try activeShare("2026-03-16", "2026-03-22")
        let later = try activeShare("2026-05-18", "2026-05-24")
        #expect(early > 0.45, "first-week active share of March sign-ups \(early)")
        #expect(later < early * 0.85, "March sign-ups active \(early) → \(later)")
    }

    @Test("a declining major's power and regular users thin out before its seats drop")
    func decliningLayersThinFirst() throws {
        for domain in ["globex.com", "initech.com"] {
            let drop = try queue.string(
                """
                SELECT min(occurred_on) FROM billing_events JOIN workspaces USING (workspace_id)
                WHERE domain = '\(domain)' AND seats_delta < 0 AND occurred_on >= '2026-08-01'
                """)
            let dropDay = try #require(drop, "\(domain) has no seat drop")
            let lastWeek = try #require(
                try queue.string(
                    "SELECT date('\(dropDay)', '-' || ((strftime('%w', '\(dropDay)') + 6) % 7 + 7) || ' days')"))
            let firstWeek = try #require(try queue.string("SELECT date('\(lastWeek)', '-14 days')"))
            let before = try layers(from: "2026-05-04", to: "2026-07-20", domain: domain)
            let ahead = try layers(from: firstWeek, to: lastWeek, domain: domain)
            let deepBefore = before.share(before.power + before.regular)
            let deepAhead = ahead.share(ahead.power + ahead.regular)
            #expect(
                deepAhead < deepBefore - 0.05,
                "\(domain): power+regular share \(deepBefore) in May–July, \(deepAhead) in the 3 weeks before \(dropDay)"
            )
            #expect(ahead.share(ahead.power) < before.share(before.power))
        }
        // The healthy major keeps its depth over the same months.
        let before = try layers(from: "2026-05-04", to: "2026-07-20", domain: "acme.com")
        let after = try layers(from: "2026-08-17", to: "2026-09-28", domain: "acme.com")
        #expect(after.share(after.power + after.regular) > before.share(before.power + before.regular) - 0.05)
    }

    @Test("launches lift engagement: more of everyone is active after the app marketplace than before")
    func launchesLiftEngagement() throws {
        let before = try layers(from: "2026-07-20", to: "2026-09-07")
        let after = try layers(from: "2026-10-05", to: "2026-11-16")
        #expect(
            after.share(after.power) > before.share(before.power),
            "power share \(before.share(before.power)) → \(after.share(after.power))")
    }
}

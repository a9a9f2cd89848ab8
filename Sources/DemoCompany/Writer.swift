import AlmanacCore
import Foundation
import GRDB
import SQLiteRows

/// Writes one warehouse file: opens a temporary database, runs the phases, indexes, renames.
final class WarehouseWriter {
    let plan: GenerationPlan
    let progress: any ProgressSink

    init(plan: GenerationPlan, progress: any ProgressSink) {
        self.plan = plan
        self.progress = progress
    }

    func write(to path: String) throws -> DemoCompanySummary {
        let target = URL(fileURLWithPath: path)
        let directory = target.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw DemoCompanyError("directory \(directory.path) does not exist")
        }
        let temporary = directory.appendingPathComponent(
            ".\(target.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        let temporaryPath = temporary.path
        try? FileManager.default.removeItem(atPath: temporaryPath)
        var succeeded = false
        defer {
            if !succeeded { try? FileManager.default.removeItem(atPath: temporaryPath) }
        }

        let counts: [String: Int]
        do {
            var configuration = Configuration()
            configuration.foreignKeysEnabled = false
            let queue = try DatabaseQueue(path: temporaryPath, configuration: configuration)
            counts = try queue.writeWithoutTransaction { db in try generate(db) }
            try queue.close()
        } catch let error as DemoCompanyError {
            throw error
        } catch {
            throw DemoCompanyError("could not write \(temporaryPath): \(error)")
        }
        // A write-ahead log or journal left by the file being replaced (the demo's live events
        // put it in WAL mode) would be applied to the new file and corrupt it.
        for suffix in ["-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            throw DemoCompanyError("could not move the warehouse to \(path): \(reason)")
        }
        succeeded = true
        return DemoCompanySummary(
            rowCounts: counts, firstDay: CivilCalendar.dateString(plan.firstDay),
            lastDay: CivilCalendar.dateString(plan.lastDay))
    }

    /// Runs every phase inside `db`; returns the rows written per table.
    private func generate(_ db: Database) throws -> [String: Int] {
        for pragma in [
            "PRAGMA journal_mode = OFF", "PRAGMA synchronous = OFF", "PRAGMA locking_mode = EXCLUSIVE",
            "PRAGMA temp_store = MEMORY", "PRAGMA cache_size = -262144",
        ] {
            try db.execute(sql: pragma)
        }
        var counts: [String: Int] = [:]
        try db.inTransaction {
            for table in WarehouseSchema.tables { try db.execute(sql: table.sql) }
            return .commit
        }

        try db.inTransaction {
            try writeReference(db, counts: &counts)
            return .commit
        }
        var population = Population.generate(plan: plan)
        let billing = Billing.simulate(plan: plan, population: &population)
        try db.inTransaction {
            try writeWorkspaces(db, population: population, counts: &counts)
            return .commit
        }
        try db.inTransaction {
            try writeUsers(db, population: population, counts: &counts)
            try writeExperiments(db, population: population, counts: &counts)
            return .commit
        }
        try db.inTransaction {
            try writeBilling(db, billing: billing, population: population, counts: &counts)
            return .commit
        }
        try db.inTransaction {
            try writeAdSpend(db, population: population, counts: &counts)
            return .commit
        }
        try db.inTransaction {
            let activity = try writeActivity(db, population: population)
            counts["events"] = activity.events
            counts["error_logs"] = activity.errors
            counts["support_tickets"] = activity.tickets
            return .commit
        }

        try db.inTransaction {
            // A modelled table, as a dbt job would build it: billing joined to the campaign its
            // workspace was attributed to (the campaign of the workspace's first sign-up).
            try db.execute(sql: WarehouseSchema.campaignBillingSQL)
            counts["campaign_billing"] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM campaign_billing") ?? 0
            return .commit
        }

        // The indexes are sorted in small runs spilled to temporary files, on worker threads, and
        // merged: several times faster than one sort in memory of keys in random order (user_id,
        // workspace_id), which misses the CPU caches at every step.
        let threads = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
        for pragma in ["PRAGMA temp_store = FILE", "PRAGMA cache_size = -2000", "PRAGMA threads = \(threads)"] {
            try db.execute(sql: pragma)
        }
        let indexes = WarehouseSchema.indexes
        for (position, index) in indexes.enumerated() {
            try db.execute(sql: WarehouseSchema.indexSQL(table: index.table, columns: index.columns))
            progress.update("indexes", completed: position + 1, total: indexes.count)
        }
        try db.execute(sql: "PRAGMA analysis_limit = 1000")
        try db.execute(sql: "ANALYZE")
        progress.finish("indexes")
        return counts
    }

    private func writeReference(_ db: Database, counts: inout [String: Int]) throws {
        let total = ReferenceData.cities.count + ReferenceData.apps.count + ReferenceData.campaigns.count
        let cities = try RowStatement(db, table: "cities", columns: ["city", "country", "region", "population"])
        for city in ReferenceData.cities {
            cities.bind(1, city.name)
            cities.bind(2, city.country)
            cities.bind(3, city.region)
            cities.bind(4, city.population)
            try cities.insert()
        }
        let apps = try RowStatement(
            db, table: "apps", columns: ["app_id", "name", "slug", "developer", "category", "launched_on"])
        for (index, app) in ReferenceData.apps.enumerated() {
            apps.bind(1, index + 1)
            apps.bind(2, app.name)
            apps.bind(3, app.slug)
            apps.bind(4, app.developer)
            apps.bind(5, app.category)
            apps.bind(6, app.launchedOn)
            try apps.insert()
        }
        let campaigns = try RowStatement(
            db, table: "campaigns",
            columns: ["campaign_id", "name", "slug", "channel", "started_on", "ended_on", "budget_usd"])
        for (index, campaign) in ReferenceData.campaigns.enumerated()
        where CivilCalendar.parse(campaign.startedOn)! <= plan.lastDay {
            campaigns.bind(1, index + 1)
            campaigns.bind(2, campaign.name)
            campaigns.bind(3, campaign.slug)
            campaigns.bind(4, campaign.channel)
            campaigns.bind(5, campaign.startedOn)
            campaigns.bind(6, campaign.endedOn)
            campaigns.bind(7, campaign.budget)
            try campaigns.insert()
        }
        counts["cities"] = ReferenceData.cities.count
        counts["apps"] = ReferenceData.apps.count
        counts["campaigns"] = ReferenceData.campaigns.count { CivilCalendar.parse($0.startedOn)! <= plan.lastDay }
        progress.update("reference", completed: total, total: total)
        progress.finish("reference")
    }

    private func writeWorkspaces(_ db: Database, population: Population, counts: inout [String: Int]) throws {
        let inserter = try RowStatement(
            db, table: "workspaces",
            columns: [
                "workspace_id", "domain", "name", "industry", "country", "city", "tier", "plan", "seats", "created_at",
                "created_on",
            ])
        let total = population.workspaces.count
        for (index, workspace) in population.workspaces.enumerated() {
            let city = ReferenceData.cities[workspace.city]
            inserter.bind(1, index + 1)
            inserter.bind(2, workspace.domain)
            inserter.bind(3, workspace.name)
            inserter.bind(4, workspace.industry)
            inserter.bind(5, city.country)
            inserter.bind(6, city.name)
            inserter.bind(7, Tier.names[Int(workspace.tier)])
            inserter.bind(8, Billing.planNames[workspace.plan])
            inserter.bind(9, workspace.seats)
            inserter.bind(10, CivilCalendar.timestampString(workspace.created))
            inserter.bind(11, CivilCalendar.dateString(workspace.createdDay))
            try inserter.insert()
            if (index + 1) % 10_000 == 0 { progress.update("workspaces", completed: index + 1, total: total) }
        }
        progress.update("workspaces", completed: total, total: total)
        progress.finish("workspaces")
        counts["workspaces"] = total
    }

    private func writeUsers(_ db: Database, population: Population, counts: inout [String: Int]) throws {
        let inserter = try RowStatement(
            db, table: "users",
            columns: [
                "user_id", "workspace_id", "signed_up_at", "signup_date", "channel", "campaign_id", "platform",
                "country",
                "city", "activated", "activated_at",
            ])
        let channels = ByteTable(Channel.names)
        let platforms = ByteTable(Platform.names)
        let cityNames = ByteTable(ReferenceData.cities.map(\.name))
        let countries = ByteTable(ReferenceData.cities.map(\.country))
        let stamp = UnsafeMutablePointer<UInt8>.allocate(capacity: 38)
        defer { stamp.deallocate() }
        let total = population.users.count
        for (index, user) in population.users.enumerated() {
            writeTimestamp(user.signup, to: stamp)
            inserter.bind(1, index + 1)
            inserter.bind(2, Int(user.workspace) + 1)
            inserter.bind(3, bytes: stamp, count: 19)
            inserter.bind(4, bytes: stamp, count: 10)
            channels.bind(inserter, 5, Int(user.channel))
            if user.campaign >= 0 { inserter.bind(6, Int(user.campaign) + 1) } else { inserter.bindNull(6) }
            platforms.bind(inserter, 7, Int(user.platform))
            countries.bind(inserter, 8, Int(user.city))
            cityNames.bind(inserter, 9, Int(user.city))
            inserter.bind(10, user.activated >= 0)
            if user.activated >= 0 {
                writeTimestamp(user.activated, to: stamp + 19)
                inserter.bind(11, bytes: stamp + 19, count: 19)
            } else {
                inserter.bindNull(11)
            }
            try inserter.insert()
            if (index + 1) % 10_000 == 0 { progress.update("users", completed: index + 1, total: total) }
        }
        progress.update("users", completed: total, total: total)
        progress.finish("users")
        counts["users"] = total
    }

    private func writeExperiments(_ db: Database, population: Population, counts: inout [String: Int]) throws {
        let experiments = try RowStatement(
            db, table: "experiments",
            columns: ["experiment_id", "name", "hypothesis", "started_on", "ended_on", "status"])
        for window in population.experiments {
            experiments.bind(1, window.experiment.id)
            experiments.bind(2, window.experiment.name)
            experiments.bind(3, window.experiment.hypothesis)
            experiments.bind(4, window.experiment.startedOn)
            experiments.bind(5, window.concluded ? window.experiment.endsOn : nil)
            experiments.bind(6, window.concluded ? "concluded" : "running")
            try experiments.insert()
        }
        let assignments = try RowStatement(
            db, table: "experiment_assignments",
            columns: ["experiment_id", "user_id", "variant", "assigned_at", "assigned_on"])
        let stamp = UnsafeMutablePointer<UInt8>.allocate(capacity: 19)
        defer { stamp.deallocate() }
        for row in population.assignments {
            writeTimestamp(row.at, to: stamp)
            assignments.bind(1, population.experiments[row.experiment].experiment.id)
            assignments.bind(2, row.user + 1)
            assignments.bind(3, row.treatment ? "treatment" : "control")
            assignments.bind(4, bytes: stamp, count: 19)
            assignments.bind(5, bytes: stamp, count: 10)
            try assignments.insert()
        }
        let conversions = try RowStatement(
            db, table: "experiment_conversions",
            columns: ["experiment_id", "user_id", "goal", "converted_at", "converted_on"])
        let sorted = population.conversions.sorted { $0.at != $1.at ? $0.at < $1.at : $0.user < $1.user }
        for row in sorted {
            let experiment = population.experiments[row.experiment].experiment
            writeTimestamp(row.at, to: stamp)
            conversions.bind(1, experiment.id)
            conversions.bind(2, row.user + 1)
            conversions.bind(3, experiment.goal)
            conversions.bind(4, bytes: stamp, count: 19)
            conversions.bind(5, bytes: stamp, count: 10)
            try conversions.insert()
        }
        counts["experiments"] = population.experiments.count
        counts["experiment_assignments"] = population.assignments.count
        counts["experiment_conversions"] = sorted.count
    }

    private func writeBilling(
        _ db: Database, billing: Billing, population: Population, counts: inout [String: Int]
    ) throws {
        let total = billing.subscriptions.count + billing.events.count + billing.months.count
        var done = 0
        let subscriptions = try RowStatement(
            db, table: "subscriptions",
            columns: ["subscription_id", "workspace_id", "plan", "seats", "mrr_usd", "started_on", "ended_on"])
        let ordered = billing.subscriptions.indices.sorted {
            let a = billing.subscriptions[$0]
            let b = billing.subscriptions[$1]
            return a.start != b.start ? a.start < b.start : $0 < $1
        }
        for (position, index) in ordered.enumerated() {
            let subscription = billing.subscriptions[index]
            subscriptions.bind(1, position + 1)
            subscriptions.bind(2, subscription.workspace + 1)
            subscriptions.bind(3, Billing.planNames[subscription.plan])
            subscriptions.bind(4, subscription.seats)
            subscriptions.bind(5, subscription.mrr)
            subscriptions.bind(6, CivilCalendar.dateString(subscription.start))
            subscriptions.bind(7, subscription.end.map(CivilCalendar.dateString))
            try subscriptions.insert()
        }
        done += ordered.count
        progress.update("billing", completed: done, total: total)

        let events = try RowStatement(
            db, table: "billing_events",
            columns: [
                "billing_event_id", "workspace_id", "occurred_on", "kind", "plan_from", "plan_to", "seats_delta",
                "mrr_delta_usd",
            ])
        let orderedEvents = billing.events.indices.sorted {
            let a = billing.events[$0]
            let b = billing.events[$1]
            return a.day != b.day ? a.day < b.day : $0 < $1
        }
        for (position, index) in orderedEvents.enumerated() {
            let event = billing.events[index]
            events.bind(1, position + 1)
            events.bind(2, event.workspace + 1)
            events.bind(3, CivilCalendar.dateString(event.day))
            events.bind(4, Billing.kindNames[event.kind])
            events.bind(5, event.planFrom.map { Billing.planNames[$0] })
            events.bind(6, event.planTo.map { Billing.planNames[$0] })
            events.bind(7, event.seatsDelta)
            events.bind(8, event.mrrDelta)
            try events.insert()
        }
        done += orderedEvents.count
        progress.update("billing", completed: done, total: total)

        let months = try RowStatement(
            db, table: "mrr_monthly", columns: ["month", "workspace_id", "plan", "seats", "mrr_usd"])
        for row in billing.months {
            months.bind(1, CivilCalendar.dateString(row.month))
            months.bind(2, row.workspace + 1)
            months.bind(3, Billing.planNames[row.plan])
            months.bind(4, row.seats)
            months.bind(5, row.mrr)
            try months.insert()
        }
        done += billing.months.count
        progress.update("billing", completed: done, total: total)

        counts["subscriptions"] = ordered.count
        counts["billing_events"] = orderedEvents.count
        counts["mrr_monthly"] = billing.months.count
        counts["crm_accounts"] = try writeCRM(db, billing: billing, population: population)
        progress.finish("billing")
    }

    /// One CRM account per major and mid workspace; declining majors are red.
    private func writeCRM(_ db: Database, billing: Billing, population: Population) throws -> Int {
        var rng = Rng(seed: plan.seed, stream: 8)
        let inserter = try RowStatement(
            db, table: "crm_accounts",
            columns: [
                "account_id", "workspace_id", "account_name", "account_owner", "owner_email", "segment", "renewal_on",
                "health", "updated_at",
            ])
        var firstPaid = [Int: Int]()
        for subscription in billing.subscriptions where firstPaid[subscription.workspace] == nil {
            firstPaid[subscription.workspace] = subscription.start
        }
        let owners = ReferenceData.accountOwners
        var accountID = 0
        for (index, workspace) in population.workspaces.enumerated() where workspace.tier != Tier.smb {
            accountID += 1
            let owner =
                workspace.tier == Tier.major ? owners[rng.below(4)] : owners[4 + rng.below(owners.count - 4)]
            // Renewal: the next anniversary of the first paid day (or of creation) after the last day.
            let anchor = CivilCalendar.civil(firstPaid[index] ?? workspace.createdDay)
            let lastYear = CivilCalendar.civil(plan.lastDay).year
            var renewal = CivilCalendar.dayNumber(year: lastYear, month: anchor.month, day: min(anchor.day, 28))
            if renewal <= plan.lastDay {
                renewal = CivilCalendar.dayNumber(year: lastYear + 1, month: anchor.month, day: min(anchor.day, 28))
            }
            let roll = rng.unit()
            let health = workspace.declining ? "red" : roll < 0.72 ? "green" : roll < 0.93 ? "yellow" : "red"
            let updated =
                (plan.lastDay - rng.below(workspace.declining ? 7 : 45)) * 86_400 + rng.between(8 * 3600, 18 * 3600)
            inserter.bind(1, accountID)
            inserter.bind(2, index + 1)
            inserter.bind(3, workspace.name)
            inserter.bind(4, owner.name)
            inserter.bind(5, owner.email)
            inserter.bind(6, workspace.tier == Tier.major ? "enterprise" : "mid_market")
            inserter.bind(7, CivilCalendar.dateString(renewal))
            inserter.bind(8, health)
            inserter.bind(9, CivilCalendar.timestampString(updated))
            try inserter.insert()
        }
        return accountID
    }

    /// Daily spend of each campaign over the days of history it ran.
    private func writeAdSpend(_ db: Database, population: Population, counts: inout [String: Int]) throws {
        var rng = Rng(seed: plan.seed, stream: 9)
        let inserter = try RowStatement(
            db, table: "ad_spend", columns: ["campaign_id", "spend_date", "impressions", "clicks", "spend_usd"])
        var rows = 0
        for (index, campaign) in ReferenceData.campaigns.enumerated() {
            let days = population.campaignDays[index]
            let daily = campaign.budget / Double(days.end - days.start + 1)
            let (cpm, ctr): (Double, Double) =
                switch campaign.channel {
                case "twitter": (6.5, 0.009)
                case "search": (24, 0.034)
                default: (12, 0.014)
                }
            let first = max(days.start, plan.firstDay)
            let last = min(days.end, plan.lastDay)
            guard first <= last else { continue }
            for day in first...last {
                let weekday = CivilCalendar.isWeekend(day) ? 0.7 : 1.12
                let spend = Billing.cents(daily * weekday * (0.85 + 0.3 * rng.unit()))
                let impressions = Int((spend / cpm * 1000 * (0.9 + 0.2 * rng.unit())).rounded())
                let clicks = Int((Double(impressions) * ctr * (0.8 + 0.4 * rng.unit())).rounded())
                inserter.bind(1, index + 1)
                inserter.bind(2, CivilCalendar.dateString(day))
                inserter.bind(3, impressions)
                inserter.bind(4, clicks)
                inserter.bind(5, spend)
                try inserter.insert()
                rows += 1
            }
        }
        counts["ad_spend"] = rows
        progress.update("ad_spend", completed: rows, total: rows)
        progress.finish("ad_spend")
    }

    /// Writes `YYYY-MM-DD HH:MM:SS` for `seconds` into 19 bytes at `out`.
    private func writeTimestamp(_ seconds: Int, to out: UnsafeMutablePointer<UInt8>) {
        CivilCalendar.writeDate(seconds / 86_400, to: out)
        out[10] = UInt8(ascii: " ")
        CivilCalendar.writeTime(seconds % 86_400, to: out + 11)
    }
}

import AlmanacCore
import DemoCompany
import Foundation
import GRDB
import Synchronization
import Testing

/// Every table of `docs/demo-company.md` with its columns and their SQLite types, in order.
let documentedSchema: [String: [(String, String)]] = [
    "campaign_billing": [
        ("billing_event_id", "INTEGER"), ("workspace_id", "INTEGER"), ("campaign_id", "INTEGER"),
        ("occurred_on", "TEXT"), ("kind", "TEXT"), ("plan_from", "TEXT"), ("plan_to", "TEXT"),
        ("seats_delta", "INTEGER"), ("mrr_delta_usd", "REAL"),
    ],
    "workspaces": [
        ("workspace_id", "INTEGER"), ("domain", "TEXT"), ("name", "TEXT"), ("industry", "TEXT"), ("country", "TEXT"),
        ("city", "TEXT"), ("tier", "TEXT"), ("plan", "TEXT"), ("seats", "INTEGER"), ("created_at", "TEXT"),
        ("created_on", "TEXT"),
    ],
    "users": [
        ("user_id", "INTEGER"), ("workspace_id", "INTEGER"), ("signed_up_at", "TEXT"), ("signup_date", "TEXT"),
        ("channel", "TEXT"), ("campaign_id", "INTEGER"), ("platform", "TEXT"), ("country", "TEXT"), ("city", "TEXT"),
        ("activated", "INTEGER"), ("activated_at", "TEXT"),
    ],
    "campaigns": [
        ("campaign_id", "INTEGER"), ("name", "TEXT"), ("slug", "TEXT"), ("channel", "TEXT"), ("started_on", "TEXT"),
        ("ended_on", "TEXT"), ("budget_usd", "REAL"),
    ],
    "ad_spend": [
        ("campaign_id", "INTEGER"), ("spend_date", "TEXT"), ("impressions", "INTEGER"), ("clicks", "INTEGER"),
        ("spend_usd", "REAL"),
    ],
    "events": [
        ("event_id", "INTEGER"), ("user_id", "INTEGER"), ("workspace_id", "INTEGER"), ("occurred_at", "TEXT"),
        ("event_date", "TEXT"), ("event_name", "TEXT"), ("platform", "TEXT"), ("app_id", "INTEGER"),
    ],
    "apps": [
        ("app_id", "INTEGER"), ("name", "TEXT"), ("slug", "TEXT"), ("developer", "TEXT"), ("category", "TEXT"),
        ("launched_on", "TEXT"),
    ],
    "subscriptions": [
        ("subscription_id", "INTEGER"), ("workspace_id", "INTEGER"), ("plan", "TEXT"), ("seats", "INTEGER"),
        ("mrr_usd", "REAL"), ("started_on", "TEXT"), ("ended_on", "TEXT"),
    ],
    "billing_events": [
        ("billing_event_id", "INTEGER"), ("workspace_id", "INTEGER"), ("occurred_on", "TEXT"), ("kind", "TEXT"),
        ("plan_from", "TEXT"), ("plan_to", "TEXT"), ("seats_delta", "INTEGER"), ("mrr_delta_usd", "REAL"),
    ],
    "mrr_monthly": [
        ("month", "TEXT"), ("workspace_id", "INTEGER"), ("plan", "TEXT"), ("seats", "INTEGER"), ("mrr_usd", "REAL"),
    ],
    "crm_accounts": [
        ("account_id", "INTEGER"), ("workspace_id", "INTEGER"), ("account_name", "TEXT"), ("account_owner", "TEXT"),
        ("owner_email", "TEXT"), ("segment", "TEXT"), ("renewal_on", "TEXT"), ("health", "TEXT"),
        ("updated_at", "TEXT"),
    ],
    "error_logs": [
        ("error_id", "INTEGER"), ("occurred_at", "TEXT"), ("error_date", "TEXT"), ("workspace_id", "INTEGER"),
        ("user_id", "INTEGER"), ("service", "TEXT"), ("error_class", "TEXT"), ("severity", "TEXT"), ("message", "TEXT"),
    ],
    "support_tickets": [
        ("ticket_id", "INTEGER"), ("workspace_id", "INTEGER"), ("user_id", "INTEGER"), ("created_at", "TEXT"),
        ("created_date", "TEXT"), ("queue", "TEXT"), ("priority", "TEXT"), ("channel", "TEXT"), ("status", "TEXT"),
        ("subject", "TEXT"), ("first_response_at", "TEXT"), ("first_response_minutes", "INTEGER"),
        ("solved_at", "TEXT"), ("csat", "INTEGER"), ("error_id", "INTEGER"),
    ],
    "experiments": [
        ("experiment_id", "TEXT"), ("name", "TEXT"), ("hypothesis", "TEXT"), ("started_on", "TEXT"),
        ("ended_on", "TEXT"), ("status", "TEXT"),
    ],
    "experiment_assignments": [
        ("experiment_id", "TEXT"), ("user_id", "INTEGER"), ("variant", "TEXT"), ("assigned_at", "TEXT"),
        ("assigned_on", "TEXT"),
    ],
    "experiment_conversions": [
        ("experiment_id", "TEXT"), ("user_id", "INTEGER"), ("goal", "TEXT"), ("converted_at", "TEXT"),
        ("converted_on", "TEXT"),
    ],
    "cities": [("city", "TEXT"), ("country", "TEXT"), ("region", "TEXT"), ("population", "INTEGER")],
]

/// FNV-1a over every row of `table` (each row rendered by SQLite's `quote()`), in rowid order.
func tableChecksum(_ queue: DatabaseQueue, table: String) throws -> (rows: Int, hash: UInt64) {
    try queue.read { db in
        let columns = try db.columns(in: table).map(\.name)
        let expression = columns.map { "quote(\($0))" }.joined(separator: " || '|' || ")
        let cursor = try String.fetchCursor(db, sql: "SELECT \(expression) FROM \(table) ORDER BY rowid")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var rows = 0
        while let line = try cursor.next() {
            for byte in line.utf8 {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
            hash = (hash ^ 0x0A) &* 0x100_0000_01b3
            rows += 1
        }
        return (rows, hash)
    }
}

@Suite("Demo company warehouse", .timeLimit(.minutes(10)))
struct DemoCompanyTests {
    @Test("the same options give identical tables; another seed gives different ones")
    func deterministic() throws {
        let options = DemoCompanyOptions(seed: 7, size: .tiny)
        let first = try GeneratedWarehouse.make(options)
        let second = try GeneratedWarehouse.make(options)
        let other = try GeneratedWarehouse.make(DemoCompanyOptions(seed: 8, size: .tiny))
        #expect(first.summary == second.summary)
        let (a, b, c) = (try first.open(), try second.open(), try other.open())
        for table in documentedSchema.keys.sorted() {
            let left = try tableChecksum(a, table: table)
            let right = try tableChecksum(b, table: table)
            #expect(left.rows > 0, "\(table) is empty")
            #expect(left.rows == right.rows && left.hash == right.hash, "\(table) differs between two runs")
        }
        for table in ["users", "events", "workspaces", "billing_events", "error_logs", "support_tickets"] {
            #expect(try tableChecksum(a, table: table).hash != tableChecksum(c, table: table).hash)
        }
    }

    @Test("the file has exactly the documented tables, columns and types, and indexes on times and keys")
    func schema() throws {
        let queue = try SharedWarehouse.get().open()
        let tables = try queue.read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        }
        #expect(Set(tables) == Set(documentedSchema.keys))
        for (table, expected) in documentedSchema {
            let columns = try queue.read { db in try db.columns(in: table).map { ($0.name, $0.type) } }
            #expect(columns.map(\.0) == expected.map(\.0), "columns of \(table)")
            #expect(columns.map(\.1) == expected.map(\.1), "types of \(table)")
        }
        let indexed = try queue.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT m.name || '.' || i.name FROM sqlite_master m, pragma_index_list(m.name) l,
                        pragma_index_info(l.name) i
                    WHERE m.type = 'table' AND i.seqno = 0
                    """)
        }
        for column in [
            "events.occurred_at", "events.event_date", "events.user_id", "events.workspace_id", "events.app_id",
            "users.workspace_id", "users.signed_up_at", "users.signup_date", "error_logs.error_date",
            "billing_events.occurred_on", "mrr_monthly.month", "ad_spend.spend_date", "crm_accounts.workspace_id",
            "experiment_assignments.experiment_id", "subscriptions.workspace_id", "support_tickets.created_date",
            "support_tickets.created_at", "support_tickets.workspace_id", "support_tickets.queue",
        ] {
            #expect(indexed.contains(column), "no index starts with \(column)")
        }
        // A customer's dashboard (a year of one workspace's people by day) reads the index alone.
        let plan = try queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    EXPLAIN QUERY PLAN
                    SELECT date(occurred_at), user_id, count(*) FROM events
                    WHERE workspace_id = 1 AND occurred_at >= '2025-01-01' AND event_name = 'task_created'
                    GROUP BY 1, 2
                    """
            ).map { $0["detail"] as String }
        }
        #expect(
            plan.contains { $0.contains("COVERING INDEX") && $0.contains("workspace_id=? AND occurred_at>?") },
            "plan: \(plan)")
    }

    @Test("row counts match the plan and the summary; the default scale plans the documented sizes")
    func rowCounts() throws {
        let warehouse = try SharedWarehouse.get()
        let queue = try warehouse.open()
        for table in documentedSchema.keys {
            let count = try queue.int("SELECT count(*) FROM \(table)")
            #expect(warehouse.summary.rowCounts[table] == count, "summary count of \(table)")
            #expect(count > 0, "\(table) is empty")
        }
        let planned = try DemoCompany.plannedRowCounts(options: SharedWarehouse.options)
        for table in ["workspaces", "users", "events"] {
            #expect(planned[table] == warehouse.summary.rowCounts[table], "planned count of \(table)")
        }
        let standard = try DemoCompany.plannedRowCounts(options: DemoCompanyOptions())
        #expect(standard["workspaces"] == 5_000)
        #expect((standard["users"] ?? 0) >= 100_000)
        #expect((standard["events"] ?? 0) >= 6_500_000)
        let scaled = try DemoCompany.plannedRowCounts(options: DemoCompanyOptions(scale: 25))
        #expect(scaled["workspaces"] == 29_000)
        #expect((scaled["users"] ?? 0) >= 2_500_000)
        #expect((scaled["events"] ?? 0) >= 162_500_000)
        #expect(warehouse.summary.firstDay == "2024-11-26")
        #expect(warehouse.summary.lastDay == "2026-11-25")
        #expect(
            try queue.int("SELECT count(*) FROM workspaces WHERE tier = 'major'")
                == DemoCompanySize.tiny.majorWorkspaces)
        #expect(try queue.int("SELECT count(*) FROM cities") >= 40)
        #expect(try queue.int("SELECT count(*) FROM apps") >= 30)
        #expect(
            try queue.int("SELECT count(DISTINCT owner_email) FROM crm_accounts WHERE owner_email LIKE '%@larkspur.io'")
                >= 10)
    }

    @Test("invalid options are rejected before anything is written")
    func invalidOptions() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("bad.sqlite")
        for options in [
            DemoCompanyOptions(asOf: "2026-02-30"), DemoCompanyOptions(asOf: "25-11-2026"),
            DemoCompanyOptions(scale: 0),
            DemoCompanyOptions(scale: 101),
            // 20 events per user cannot carry a year of weekly active people.
            DemoCompanyOptions(
                size: DemoCompanySize(
                    workspaces: 600, workspacesPerExtraScale: 120, majorWorkspaces: 12, usersPerScale: 12_000,
                    eventsPerScale: 240_000)),
        ] {
            #expect(throws: DemoCompanyError.self) {
                try DemoCompany.write(to: path, options: options, progress: SilentProgress())
            }
        }
        #expect(throws: DemoCompanyError.self) {
            try DemoCompany.write(
                to: directory.file("missing/dir.sqlite"), options: DemoCompanyOptions(size: .tiny),
                progress: SilentProgress())
        }
        #expect(try directory.contents().isEmpty)
        let error = DemoCompanyError("scale must be between 1 and 100, got 0")
        #expect(error.description.contains("scale must be between 1 and 100"))
    }

    @Test("an existing file is replaced whole, no temporary file is left, and as-of moves the window")
    func replacesAtomically() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("warehouse.sqlite")
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: path))
        let options = DemoCompanyOptions(seed: 3, asOf: "2026-03-01", size: .tiny)
        let progress = RecordingProgress()
        let summary = try DemoCompany.write(to: path, options: options, progress: progress)
        #expect(try directory.contents() == ["warehouse.sqlite"])
        #expect(summary.firstDay == "2024-03-02")
        #expect(summary.lastDay == "2026-03-01")
        let queue = try DatabaseQueue(path: path)
        #expect(try queue.string("SELECT min(event_date) FROM events") == "2024-03-02")
        #expect(try queue.string("SELECT max(event_date) FROM events") == "2026-03-01")
        #expect(try queue.string("SELECT max(signed_up_at) FROM users").map { $0 <= "2026-03-01 23:59:59" } == true)
        #expect(try queue.string("SELECT max(occurred_on) FROM billing_events").map { $0 <= "2026-03-01" } == true)
        // The experiment still running on that day has no end and says so.
        #expect(
            try queue.string("SELECT status FROM experiments WHERE experiment_id = 'onboarding-checklist'") == "running"
        )
        #expect(try queue.int("SELECT count(*) FROM experiments WHERE experiment_id = 'invite-nudge'") == 0)
        try queue.close()
        let finished = progress.finishedTasks()
        for task in ["workspaces", "users", "billing", "events", "indexes"] {
            #expect(finished.contains(task), "phase \(task) not finished")
        }
        #expect(progress.maxCompleted("events") == summary.rowCounts["events"])
    }
}

/// A progress sink that remembers what it was told.
final class RecordingProgress: ProgressSink {
    private let state = Mutex<(completed: [String: Int], finished: [String])>(([:], []))

    func update(_ task: String, completed: Int, total: Int) {
        state.withLock { $0.completed[task] = max($0.completed[task] ?? 0, completed) }
    }

    func finish(_ task: String) {
        state.withLock { $0.finished.append(task) }
    }

    func finishedTasks() -> [String] { state.withLock { $0.finished } }
    func maxCompleted(_ task: String) -> Int? { state.withLock { $0.completed[task] } }
}

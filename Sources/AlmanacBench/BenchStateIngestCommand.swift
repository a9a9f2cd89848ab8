import ArgumentParser
import Foundation
import Storage

/// Hidden: the in-process half of Benchmarks/state-ingest.sh: views recorded per second into the
/// SQLite state store against the PostgreSQL one, the same views in the same batches, rounds
/// alternating; and into PostgreSQL from several writers at once, as several portals write.
struct BenchStateIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-state-ingest",
        abstract: "Time recordViews into SQLite and PostgreSQL state (same views, same batches, same run).")

    @Option(help: "An empty PostgreSQL database to write into (migrated here).") var postgres: String
    @Option(help: "A folder for the SQLite state files.") var dir: String
    @Option(help: "Views per round and store.") var views = 400_000
    @Option(help: "Views per write (what one portal's second of views flushes).") var batch = 5_000
    @Option(help: "Rounds (the stores alternate).") var rounds = 3
    @Option(help: "PostgreSQL writers at once, in the last phase (as many portals).") var writers = 2
    @Option(help: "Distinct items viewed.") var items = 2_000
    @Option(help: "Distinct viewers.") var viewers = 5_000
    @Option(help: "Days the views are spread over, ending now (1: a portal's live traffic, all today).")
    var days = 30
    @Flag(help: "Skew the items as a portal's traffic is (a few popular, a long tail) instead of uniform.")
    var popular = false

    func run() async throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Views over the last `days` days, spread over items and viewers (a fixed sequence).
        let now = Date()
        var random: UInt64 = 0x9E37_79B9
        func next() -> UInt64 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return random >> 17
        }
        let span = UInt64(days) * 86_400
        let today = (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
        let events = (0..<views).map { _ in
            // Squaring a uniform draw piles the views onto the first items (a popularity skew).
            let draw = Double(next() % 1_000_000) / 1_000_000
            let item = popular ? Int(draw * draw * Double(items)) : Int(next() % UInt64(items))
            // Ending now: with one day, every view is today's.
            let back =
                days == 1 ? Double(next() % UInt64(max(1, now.timeIntervalSince1970 - today))) : Double(next() % span)
            return ViewEvent(
                itemKind: "report", itemID: "bench-\(item)", viewer: "person-\(next() % UInt64(viewers))@larkspur.io",
                viewedAt: now.addingTimeInterval(-back), source: .direct, channel: .page)
        }
        let batches = stride(from: 0, to: events.count, by: batch).map {
            Array(events[$0..<min(events.count, $0 + batch)])
        }

        let postgresStore = try PostgresStateStore(url: postgres, poolSize: max(2, writers + 1))
        defer { postgresStore.close() }
        try await postgresStore.migrate()
        func timed(_ store: any StateStore, _ batches: ArraySlice<[ViewEvent]>) async throws -> Double {
            let started = ContinuousClock.now
            for batch in batches { try await store.recordViews(batch) }
            let elapsed = ContinuousClock.now - started
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        for round in 1...rounds {
            let path = "\(dir)/state-\(round).sqlite"
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            let sqlite = try SQLiteStateStore(path: path)
            try await sqlite.migrate()
            let sqliteSeconds = try await timed(sqlite, batches[...])
            let postgresSeconds = try await timed(postgresStore, batches[...])
            print(
                String(
                    format: "round %d: sqlite %.0f views/s, postgres %.0f views/s (%d views in batches of %d)", round,
                    Double(views) / sqliteSeconds, Double(views) / postgresSeconds, views, batch))
        }
        // Several writers at once into the one database, each with its own pool, as portals are.
        let stores = try (0..<writers).map { _ in try PostgresStateStore(url: postgres, poolSize: 2) }
        defer { for store in stores { store.close() } }
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, store) in stores.enumerated() {
                let mine = batches.indices.filter { $0 % writers == index }.map { batches[$0] }
                group.addTask { for batch in mine { try await store.recordViews(batch) } }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let total = try await postgresStore.viewCounts(kind: "report", since: nil).values.reduce(0, +)
        print(
            String(
                format: "writers %d: postgres %.0f views/s together; views in the store %d (expected %d)", writers,
                Double(views) / seconds, total, views * (rounds + 1)))
    }
}

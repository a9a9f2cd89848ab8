import AlmanacCore
import ArgumentParser
import Catalog
import Foundation
import Lifecycle
import Logging
import Storage

/// Hidden: the in-process half of Benchmarks/usage.sh: the view recorder's throughput into
/// SQLite, and the retirement policy's staleness scan over a large view history.
struct BenchUsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-usage",
        abstract: "Time the view recorder and the staleness scan against the raw view log (same run, same rows).")

    @Option(help: "Where the generated catalog and state stores are kept (reused when they match).")
    var dir: String

    @Option(help: "The catalog to add the generated reports to.")
    var catalog: String = "Catalog"

    @Option(help: "Generated reports (items).") var items = 10_000
    @Option(help: "View rows in the history.") var views = 50_000_000
    @Option(help: "Days the history spans, ending now.") var days = 180
    @Option(help: "People who view.") var viewers = 2_000
    @Option(help: "Views per write (the recorder's batch: what one second of views flushes).") var batch = 10_000
    @Option(help: "Views timed for the recorder against the raw-log baseline.") var measure = 2_000_000
    @Option(help: "Timed staleness scans.") var scans = 10
    @Option(help: "Timed raw-log scans (the baseline; slow).") var baselineScans = 3

    func run() async throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let catalogDir = dir + "/catalog"
        let statePath = dir + "/state.sqlite"
        let now = Date()
        let start = now.addingTimeInterval(-Double(days) * 86_400)
        let history = History(items: items, views: views, viewers: viewers, start: start, end: now)

        // 1. The catalog: the demo's plus `items` generated reports.
        if !fm.fileExists(atPath: catalogDir + "/reports/bench-\(String(format: "%05d", items - 1)).yaml") {
            try? fm.removeItem(atPath: catalogDir)
            try fm.copyItem(atPath: catalog, toPath: catalogDir)
            let teams = ["growth", "marketing", "product", "finance", "sales", "support"]
            for index in 0..<items {
                let id = "bench-\(String(format: "%05d", index))"
                let yaml = """
                    id: \(id)
                    title: Benchmark report \(index)
                    owner: \(teams[index % teams.count])
                    status: active
                    grain: day
                    range: 90d
                    panels:
                      - title: Sign-ups
                        metric: signups
                        chart: line

                    """
                try Data(yaml.utf8).write(to: URL(fileURLWithPath: "\(catalogDir)/reports/\(id).yaml"))
            }
        }
        let store = try CatalogStore(directory: catalogDir)
        print("catalog: \(store.current.reports.count) reports (\(items) generated)")

        // 2. The recorder against the raw log, on the first `measure` views, into fresh files.
        let sample = min(measure, views)
        for name in ["recorder.sqlite", "baseline.sqlite"] {
            for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: "\(dir)/\(name)\(suffix)") }
        }
        let recorder = try SQLiteStateStore(path: dir + "/recorder.sqlite")
        try await recorder.migrate()
        var recorderSeconds = 0.0
        var baselineSeconds = 0.0
        var offset = 0
        let clock = ContinuousClock()
        while offset < sample {
            let chunk = history.views(offset..<min(sample, offset + batch))
            // Alternating per batch, so both see the same machine.
            let raw = try clock.measure { try StorageBenchmark.insertRawViews(chunk, path: dir + "/baseline.sqlite") }
            let full = try await clock.measure { try await recorder.recordViews(chunk) }
            baselineSeconds += raw.timeInterval
            recorderSeconds += full.timeInterval
            offset += chunk.count
        }
        print(
            String(
                format:
                    "recorder: %d views in batches of %d: %.3f s = %.0f views/s (raw log alone: %.3f s = %.0f views/s)",
                sample, batch, recorderSeconds, Double(sample) / recorderSeconds, baselineSeconds,
                Double(sample) / baselineSeconds))

        // 3. The history: `views` rows through the recorder (reused when already built).
        let state = try SQLiteStateStore(path: statePath)
        try await state.migrate()
        let existing = try StorageBenchmark.viewRows(path: statePath)
        if existing != views {
            for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: statePath + suffix) }
            let fresh = try SQLiteStateStore(path: statePath)
            try await fresh.migrate()
            // Known to the portal since before the history starts, so every report is old enough.
            _ = try await fresh.syncCatalogItems(
                LifecycleLedger.itemStates(store.declared), catalogVersion: store.declared.version,
                at: start.addingTimeInterval(-30 * 86_400))
            let began = ContinuousClock.now
            var written = 0
            while written < views {
                let chunk = history.views(written..<min(views, written + batch * 10))
                try await fresh.recordViews(chunk)
                written += chunk.count
                if written % 5_000_000 < batch * 10 {
                    let elapsed = (ContinuousClock.now - began).timeInterval
                    print(
                        String(format: "  history: %d views, %.0f views/s so far", written, Double(written) / elapsed))
                }
            }
            let elapsed = (ContinuousClock.now - began).timeInterval
            print(
                String(
                    format: "history: %d views written in %.1f s (%.0f views/s)", views, elapsed,
                    Double(views) / elapsed))
        } else {
            print("history: reusing \(existing) views in \(statePath)")
        }

        // 4. The staleness scan, as the portal and `almanac usage stale` run it.
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let lifecycle = LifecycleService(catalog: store, state: state, logger: logger)
        try await lifecycle.reloadOverlay()
        let reviewer = RetirementReviewer(lifecycle: lifecycle)
        var report = try await reviewer.report()  // warm-up
        var timings: [Double] = []
        for _ in 0..<max(1, scans) {
            let elapsed = try await clock.measure { report = try await reviewer.report() }
            timings.append(elapsed.timeInterval * 1000)
        }
        let policy = store.current.settings.retirement
        print(
            "scan: \(report.reviewed) live reports, \(report.candidates.count) candidates (fewer than \(policy.fewerThan) views in \(policy.window))"
        )
        print("scan_ms=\(timings.map { String(format: "%.1f", $0) }.joined(separator: ","))")
        print(String(format: "scan_p50_ms=%.1f scan_max_ms=%.1f", percentile(timings, 50), timings.max() ?? 0))

        // 5. The baseline: the same per-item figures counted from the raw log.
        let window = UsageDay.last(max(1, policy.window.seconds / 86_400), endingOn: now)
        let ranges = [window, UsageDay.last(30, endingOn: now), UsageDay.last(90, endingOn: now)]
        var baseline: [Double] = []
        var raw: [String: [Int]] = [:]
        for _ in 0..<max(1, baselineScans) {
            let elapsed = try clock.measure {
                raw = try StorageBenchmark.rawLogTotals(path: statePath, kind: "report", in: ranges)
            }
            baseline.append(elapsed.timeInterval * 1000)
        }
        let rollup = try await state.viewTotals(kind: "report", id: nil, in: ranges)
        print("baseline_ms=\(baseline.map { String(format: "%.1f", $0) }.joined(separator: ","))")
        print(String(format: "baseline_p50_ms=%.1f", percentile(baseline, 50)))
        print("rollup_equals_raw_log=\(rollup == raw) items_with_views=\(raw.count)")
    }

    func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)]
    }

    /// A deterministic view history: items by a Zipf-like popularity, 8% of them abandoned
    /// after the first month, viewers Zipf-like too, times evenly spread in order.
    struct History {
        let items: Int
        let views: Int
        let viewers: Int
        let start: Date
        let end: Date
        let itemCDF: [Double]
        let viewerCDF: [Double]

        init(items: Int, views: Int, viewers: Int, start: Date, end: Date) {
            (self.items, self.views, self.viewers, self.start, self.end) = (items, views, viewers, start, end)
            func cdf(_ count: Int, _ s: Double) -> [Double] {
                var total = 0.0
                var result: [Double] = []
                result.reserveCapacity(count)
                for rank in 1...max(1, count) {
                    total += 1 / pow(Double(rank), s)
                    result.append(total)
                }
                return result.map { $0 / total }
            }
            itemCDF = cdf(items, 1.07)
            viewerCDF = cdf(viewers, 0.9)
        }

        static func mix(_ value: UInt64) -> UInt64 {
            var z = value &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        static func pick(_ cdf: [Double], _ random: UInt64) -> Int {
            let u = Double(random >> 11) / Double(1 << 53)
            var low = 0
            var high = cdf.count - 1
            while low < high {
                let middle = (low + high) / 2
                if cdf[middle] < u { low = middle + 1 } else { high = middle }
            }
            return low
        }

        func views(_ range: Range<Int>) -> [ViewEvent] {
            let span = end.timeIntervalSince(start)
            let abandonAfter = start.addingTimeInterval(30 * 86_400)
            return range.map { index in
                let time = start.addingTimeInterval(span * Double(index) / Double(views))
                var seed = Self.mix(UInt64(index))
                var rank = Self.pick(itemCDF, seed)
                // Every 12th item (8%) is abandoned after the first month: the candidates.
                while rank % 12 == 5 && time > abandonAfter {
                    seed = Self.mix(seed)
                    rank = Self.pick(itemCDF, seed)
                }
                // Ranks are scattered over ids, so popularity does not follow the file order.
                let item = (rank &* 7_919) % items
                let viewer = Self.pick(viewerCDF, Self.mix(seed ^ 0xABCD))
                return ViewEvent(
                    itemKind: "report", itemID: "bench-\(String(format: "%05d", item))", viewer: "person\(viewer)",
                    viewedAt: time)
            }
        }
    }
}

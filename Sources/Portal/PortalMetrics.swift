import Foundation
import Metrics
public import Prometheus
import Synchronization

/// The process's Prometheus registry, and the swift-metrics backend that writes into it.
///
/// Modules record through the swift-metrics API (`Counter`, `Timer`, `Gauge`), as
/// Hummingbird's `MetricsMiddleware` does; `/metrics` shows this registry. swift-metrics has
/// one backend per process, so every portal in a process (tests run several) shares it.
public enum PortalMetrics {
    /// The registry, bootstrapped as swift-metrics' backend on first use.
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Pages answer in a millisecond or two; the defaults start at 5 ms.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(120),
        ]
        factory.nameAndLabelSanitizer = { name, labels in
            (prometheusName(name), labels.map { (prometheusName($0.0), $0.1) })
        }
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// This process's memory, CPU and files, in ``registry``.
    static let process = ProcessMetrics(registry: registry)

    /// Makes sure the backend is in place before anything records (metrics made before
    /// the bootstrap go nowhere).
    public static func bootstrap() { _ = registry }

    /// Hummingbird's names (OpenTelemetry style, with dots) as Prometheus names.
    static func prometheusName(_ name: String) -> String {
        switch name {
        case "hb.requests": "http_server_requests_total"
        case "hb.request.errors": "http_server_request_errors_total"
        case "http.server.request.duration": "http_server_request_duration_seconds"
        default: name.replacingOccurrences(of: ".", with: "_")
        }
    }
}

/// Hits, misses, evictions and size of one cache, as `almanac_cache_*{cache="…"}`.
struct CacheMetrics: Sendable {
    let hits: Metrics.Counter
    /// Out-of-date entries served while a fresh one renders (page cache).
    let staleHits: Metrics.Counter
    let misses: Metrics.Counter
    let evictions: Metrics.Counter
    let bytes: Metrics.Gauge
    let entries: Metrics.Gauge
    let capacity: Metrics.Gauge
    /// Out-of-date pages waiting for their background render (page cache): a queue that keeps
    /// growing means readers get pages further behind, up to `--page-stale-minutes`.
    let refreshesWaiting: Metrics.Gauge

    init(cache: String, capacityBytes: Int) {
        PortalMetrics.bootstrap()
        hits = Metrics.Counter(
            label: "almanac_cache_requests_total", dimensions: [("cache", cache), ("result", "hit")])
        staleHits = Metrics.Counter(
            label: "almanac_cache_requests_total", dimensions: [("cache", cache), ("result", "stale")])
        misses = Metrics.Counter(
            label: "almanac_cache_requests_total", dimensions: [("cache", cache), ("result", "miss")])
        evictions = Metrics.Counter(label: "almanac_cache_evictions_total", dimensions: [("cache", cache)])
        bytes = Metrics.Gauge(label: "almanac_cache_bytes", dimensions: [("cache", cache)])
        entries = Metrics.Gauge(label: "almanac_cache_entries", dimensions: [("cache", cache)])
        capacity = Metrics.Gauge(label: "almanac_cache_capacity_bytes", dimensions: [("cache", cache)])
        capacity.record(capacityBytes)
        refreshesWaiting = Metrics.Gauge(label: "almanac_cache_refreshes_waiting", dimensions: [("cache", cache)])
    }

    func waiting(_ refreshes: Int) { refreshesWaiting.record(refreshes) }
    func hit(stale: Bool = false) { stale ? staleHits.increment() : hits.increment() }
    func miss() { misses.increment() }

    /// After a store: what was evicted, and what is held now.
    func held(bytes: Int, entries: Int, evicted: Int) {
        if evicted > 0 { evictions.increment(by: evicted) }
        self.bytes.record(bytes)
        self.entries.record(entries)
    }
}

/// Memory, CPU and open files of this process, read from `/proc` when `/metrics` is scraped
/// (the names Prometheus's own clients use, so stock dashboards work).
final class ProcessMetrics: Sendable {
    private let resident: Prometheus.Gauge
    private let virtual: Prometheus.Gauge
    private let cpu: Prometheus.Counter
    private let openFiles: Prometheus.Gauge
    private let maxFiles: Prometheus.Gauge
    private let startTime: Prometheus.Gauge
    /// CPU seconds already added to the counter (it can only be increased).
    private let counted = Mutex(0.0)

    init(registry: PrometheusCollectorRegistry) {
        resident = registry.makeGauge(
            descriptor: .init(
                namespace: "process", metricName: "resident_memory", unitName: "bytes",
                helpText: "Resident memory size in bytes."))
        virtual = registry.makeGauge(
            descriptor: .init(
                namespace: "process", metricName: "virtual_memory", unitName: "bytes",
                helpText: "Virtual memory size in bytes."))
        cpu = registry.makeCounter(
            descriptor: .init(
                namespace: "process", metricName: "cpu_seconds", unitName: "total",
                helpText: "Total user and system CPU time spent in seconds."))
        openFiles = registry.makeGauge(
            descriptor: .init(
                namespace: "process", metricName: "open_fds", unitName: "", helpText: "Number of open file descriptors."
            ))
        maxFiles = registry.makeGauge(
            descriptor: .init(
                namespace: "process", metricName: "max_fds", unitName: "",
                helpText: "Maximum number of open file descriptors."))
        startTime = registry.makeGauge(
            descriptor: .init(
                namespace: "process", metricName: "start_time", unitName: "seconds",
                helpText: "Start time of the process since the Unix epoch in seconds."))
    }

    /// Reads `/proc/self` now; on a system without it the figures stay as they were.
    func update() {
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ").compactMap { Double($0) }
            if fields.count >= 2 {
                virtual.set(fields[0] * pageSize)
                resident.set(fields[1] * pageSize)
            }
        }
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        {
            // After "pid (name)": field 3 is the state; utime and stime are fields 14 and 15,
            // the start time (ticks after boot) field 22.
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            if fields.count > 19, let user = Double(fields[11]), let system = Double(fields[12]),
                let started = Double(fields[19])
            {
                let total = (user + system) / ticks
                let delta = counted.withLock { counted -> Double in
                    defer { counted = max(counted, total) }
                    return max(0, total - counted)
                }
                if delta > 0 { cpu.increment(by: delta) }
                if let uptime = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
                    let seconds = uptime.split(separator: " ").first.flatMap({ Double($0) })
                {
                    let boot = Date().timeIntervalSince1970 - seconds
                    startTime.set(boot + started / ticks)
                }
            }
        }
        if let files = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFiles.set(Double(files.count))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFiles.set(Double(limit.rlim_cur)) }
    }
}

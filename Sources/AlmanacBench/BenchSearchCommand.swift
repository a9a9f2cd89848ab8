import AlmanacCore
import ArgumentParser
import Catalog
import Foundation
import Search

/// Hidden: Almanac's runner for the shared search harness (`../shared/bench/search/`),
/// driven by Benchmarks/search-engines.sh. It follows the harness protocol (same catalog,
/// same queries, one thread, in-process; one query = parse the user's text + search + read
/// the top 10 ids) and writes the JSON its `report.py` reads.
struct BenchSearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-search", abstract: "Run the search harness's query set in-process.")

    @Option(help: "Folder with the harness's catalog.jsonl (and manifest.json).")
    var data: String

    @Option(help: "queries.txt (queries.jsonl beside it gives the categories).")
    var queries: String

    @Option(help: "Where to write the JSON result.")
    var out: String

    @Option(help: "Timed passes over the query set.")
    var repeats: Int = 5

    @Option(help: "Untimed passes first.")
    var warmup: Int = 1

    @Option(help: "No further timed pass after this many seconds of timed passes.")
    var maxSeconds: Double = 30

    @Flag(help: "Time the work of the HTTP path (facets and highlighted snippets too).")
    var full = false

    static let sampleQueries = [
        "churn", "revenue", "mrr", "monthly recurring revenue", "retention cohort", "retension", "sig",
        "activation funnel", "campaign attribution emea", "customer health", "nps by region", "São Paulo", "zurich",
        "growth analytics", "churn AND \"mrr\" (",
    ]

    func run() throws {
        let loadStart = DispatchTime.now()
        let entries = try HarnessCatalog.load(data + "/catalog.jsonl")
        let loadSeconds = seconds(since: loadStart)
        let rssLoaded = residentMegabytes()
        let (queryTexts, categories) = try HarnessCatalog.queries(queries)

        let buildStart = DispatchTime.now()
        let cpuStart = cpuSeconds()
        let index = SearchIndex()
        index.updateCatalog(entries.map(\.document))
        index.updatePopularity(HarnessCatalog.popularity(entries))
        let buildSeconds = seconds(since: buildStart)
        let buildCPU = cpuSeconds() - cpuStart
        let rssBuilt = residentMegabytes()
        let viewer = Viewer(user: "bench", groups: [], isAdmin: false)
        let options = SearchOptions(limit: 10, facets: full, snippets: full)

        func one(_ text: String) -> [String] {
            let results = index.search(SearchQuery(parsing: text), viewer: viewer, options: options)
            return results.hits.map { hit in
                if case .item(let key) = hit.document.target { return key.id }
                return ""
            }
        }

        var topk = [[String]](repeating: [], count: queryTexts.count)
        for _ in 0..<max(1, warmup) {
            for (index, text) in queryTexts.enumerated() { topk[index] = one(text) }
        }
        var latencies = [[UInt64]](repeating: [], count: queryTexts.count)
        var passes = 0
        var busy: UInt64 = 0
        let timedStart = DispatchTime.now()
        while passes < repeats {
            for (index, text) in queryTexts.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = one(text)
                let elapsed = DispatchTime.now().uptimeNanoseconds - start
                latencies[index].append(elapsed)
                busy += elapsed
            }
            passes += 1
            if seconds(since: timedStart) > maxSeconds { break }
        }
        // The same queries with everything the HTTP path adds: facets, highlighted snippets.
        let fullOptions = SearchOptions(limit: 10, facets: true, snippets: true)
        var fullLatencies: [UInt64] = []
        for text in queryTexts {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = index.search(SearchQuery(parsing: text), viewer: viewer, options: fullOptions)
            fullLatencies.append(DispatchTime.now().uptimeNanoseconds - start)
        }

        let all = latencies.flatMap { $0 }.sorted()
        var byCategory: [String: [String: Any]] = [:]
        for category in Set(categories).sorted() {
            let members = categories.indices.filter { categories[$0] == category }
            let hits = members.filter { !topk[$0].isEmpty }.count
            let values = members.flatMap { latencies[$0] }.sorted()
            byCategory[category] = [
                "n": members.count, "hit_rate": rounded(Double(hits) / Double(members.count), 4),
                "p50_ms": ms(percentile(values, 50)) ?? 0, "p95_ms": ms(percentile(values, 95)) ?? 0, "safe_errors": 0,
                "raw_errors": 0, "raw_zero_hits": members.count - hits,
            ]
        }
        var samples: [String: Any] = [:]
        let byID = Dictionary(entries.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for query in Self.sampleQueries {
            samples[query] = one(query).map { id in
                ["id": id, "kind": byID[id]?.kind ?? "", "title": byID[id]?.document.title ?? ""]
            }
        }
        let manifest =
            (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: data + "/manifest.json"))))
            as? [String: Any] ?? [:]
        let zeroHits = topk.filter(\.isEmpty).count
        let slowest = latencies.indices.map { index in
            (queryTexts[index], latencies[index].sorted()[latencies[index].count / 2])
        }
        .sorted { $0.1 > $1.1 }.prefix(15).map { ["q": $0.0, "median_ms": ms($0.1) ?? 0] as [String: Any] }
        let sortedFull = fullLatencies.sorted()
        let result: [String: Any] = [
            "engine": full ? "almanac-full" : "almanac",
            "engine_version": "Almanac search (Swift, in-memory BM25F index, typo + prefix)",
            "config":
                "in-process, one thread; own inverted index: fields title 10 > keywords 8 > tags 5 > synonyms 4 > "
                + "description 2 > people 1, BM25F (k1 5, b 0.75), Porter stems, prefix on the last word, "
                + "typos within one edit when a word is unknown, words matching nothing left out, "
                + "drafts hidden (product semantics), popularity from view_count; timed unit = parse + search + "
                + "top-10 ids, no facets/snippets (with facets and snippets: p50 \(ms(percentile(sortedFull, 50)) ?? 0) ms, "
                + "p99 \(ms(percentile(sortedFull, 99)) ?? 0) ms)",
            "entries": entries.count,
            "catalog_sha256": manifest["catalog_jsonl_sha256"] ?? NSNull(),
            "catalog_seed": manifest["seed"] ?? NSNull(),
            "queries_file": queries,
            "queries_sha256": try HarnessCatalog.sha256(of: queries),
            "n_queries": queryTexts.count,
            "timed_passes": passes,
            "samples": all.count,
            "load_s": rounded(loadSeconds, 3),
            "build_s": rounded(buildSeconds, 3),
            "build_cpu_s": rounded(buildCPU, 3),
            "index_bytes": 0,
            "rss_after_load_mb": rounded(rssLoaded, 1),
            "rss_after_build_mb": rounded(rssBuilt, 1),
            "peak_rss_mb": rounded(peakMegabytes(), 1),
            "latency_ms": [
                "p50": ms(percentile(all, 50)) ?? 0, "p95": ms(percentile(all, 95)) ?? 0,
                "p99": ms(percentile(all, 99)) ?? 0,
                "mean": all.isEmpty ? 0 : rounded(Double(all.reduce(0, +)) / Double(all.count) / 1e6, 4),
                "max": ms(all.last) ?? 0,
            ],
            "latency_full_ms": [
                "p50": ms(percentile(sortedFull, 50)) ?? 0, "p95": ms(percentile(sortedFull, 95)) ?? 0,
                "p99": ms(percentile(sortedFull, 99)) ?? 0,
            ],
            "qps": busy == 0 ? 0 : rounded(Double(all.count) / (Double(busy) / 1e9), 1),
            "safe_errors": 0,
            "safe_error_examples": [Any](),
            "zero_hit_queries": zeroHits,
            "by_category": byCategory,
            "raw": [
                "errors": 0, "zero_hits": zeroHits, "lenient": NSNull(), "p50_ms": ms(percentile(all, 50)) ?? 0,
                "error_examples": [Any](),
            ] as [String: Any],
            "topk": topk,
            "slowest_queries": Array(slowest),
            "sample_results": samples,
            "env": [
                "python": "Swift (almanac release build)", "platform": HarnessCatalog.platform(),
                "cpus": ProcessInfo.processInfo.activeProcessorCount, "cpu_model": HarnessCatalog.cpuModel(),
            ] as [String: Any],
        ]
        let json = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
        try FileManager.default.createDirectory(
            atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try json.write(to: URL(fileURLWithPath: out))
        FileHandle.standardError.write(
            Data(
                ("almanac        N=\(entries.count) build=\(rounded(buildSeconds, 2))s p50=\(ms(percentile(all, 50)) ?? 0)ms "
                    + "p99=\(ms(percentile(all, 99)) ?? 0)ms safe_err=0 passes=\(passes)\n").utf8))
    }
}

/// Hidden: times building the index from the harness catalog plus synthetic entity values.
struct BenchSearchBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-search-build", abstract: "Time building the search index at scale.")

    @Option(help: "Folder with the harness's catalog.jsonl.")
    var data: String

    @Option(help: "Synthetic entity values to add (split over five entities).")
    var entityValues: Int = 1_000_000

    func run() throws {
        let entries = try HarnessCatalog.load(data + "/catalog.jsonl")
        let entities = SyntheticEntities.make(total: entityValues)
        let before = residentMegabytes()
        let start = DispatchTime.now()
        let index = SearchIndex()
        index.updateCatalog(entries.map(\.document))
        let catalogSeconds = seconds(since: start)
        index.replaceEntityValues(entities.map { (entity: $0.0, documents: $0.1) })
        let total = seconds(since: start)
        let statistics = index.statistics
        let result: [String: Any] = [
            "entries": entries.count, "entity_values": entities.reduce(0) { $0 + $1.1.count },
            "build_s": rounded(total, 3), "catalog_build_s": rounded(catalogSeconds, 3),
            "entity_build_s": rounded(total - catalogSeconds, 3), "peak_rss_mb": rounded(peakMegabytes(), 1),
            "rss_before_build_mb": rounded(before, 1), "rss_after_build_mb": rounded(residentMegabytes(), 1),
            "terms": statistics.terms, "documents": statistics.documents,
        ]
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
        // Keep the index alive until measured.
        withExtendedLifetime(index) {}
    }
}

/// Deterministic entity values shaped like the demo's: customers with domains, campaigns
/// with utm slugs, cities, marketplace apps and experiments.
enum SyntheticEntities {
    static func make(total: Int) -> [(String, [SearchDocument])] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let first = [
            "acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell", "cyberdyne",
            "soylent",
            "vandelay", "pied", "piper", "aperture", "black", "mesa", "oscorp", "gringotts", "monarch", "nakatomi",
            "duff", "krusty", "bluth", "dunder", "mifflin", "sterling", "cooper", "prestige", "wernham",
        ]
        let second = [
            "labs", "systems", "analytics", "logistics", "foods", "media", "health", "energy", "robotics", "capital",
            "studios", "works", "partners", "group", "digital", "cloud", "retail", "motors", "bank", "travel",
        ]
        let channels = ["google", "meta", "linkedin", "twitter", "tiktok", "reddit", "youtube", "bing", "podcast"]
        let seasons = ["spring", "summer", "autumn", "winter", "launch", "retarget", "brand", "promo"]
        let cities = [
            "berlin", "london", "paris", "tokyo", "austin", "toronto", "sydney", "madrid", "lisbon", "seoul", "mumbai",
            "zurich", "oslo", "dublin", "denver", "chicago", "boston", "lagos", "nairobi", "lima",
        ]
        let shares: [(String, String, Double)] = [
            ("customer", "Customer", 0.4), ("campaign", "Campaign", 0.2), ("city", "City", 0.1), ("app", "App", 0.2),
            ("experiment", "Experiment", 0.1),
        ]
        var out: [(String, [SearchDocument])] = []
        for (entity, label, share) in shares {
            let count = Int(Double(total) * share)
            var documents: [SearchDocument] = []
            documents.reserveCapacity(count)
            for number in 0..<count {
                let a = first[next() % first.count]
                let b = second[next() % second.count]
                let title: String
                let aliases: [String]
                switch entity {
                case "customer":
                    title = "\(a.capitalized) \(b.capitalized) \(number)"
                    aliases = ["\(a)\(b)\(number).com"]
                case "campaign":
                    let slug = "\(seasons[next() % seasons.count])-\(channels[next() % channels.count])-\(number)"
                    title = slug.replacingOccurrences(of: "-", with: " ").capitalized
                    aliases = [slug]
                case "city":
                    title = "\(cities[next() % cities.count].capitalized) \(number)"
                    aliases = ["region \(next() % 50)"]
                case "app":
                    title = "\(a.capitalized) \(b.capitalized) app \(number)"
                    aliases = ["\(a)-\(b)-\(number)", "\(b.capitalized) developer \(number % 997)"]
                default:
                    title = "\(a) \(b) experiment \(number)"
                    aliases = ["exp-\(number)"]
                }
                documents.append(
                    SearchDocument(
                        kind: entity, kindLabel: label,
                        target: .entityValue(
                            entity: EntityID(entity), template: TemplateID(entity), parameter: "\(entity)_id",
                            value: String(number)), title: title, keywords: aliases, tags: [entity],
                        description: aliases.joined(separator: " · ")))
            }
            out.append((entity, documents))
        }
        return out
    }
}

/// The harness's files.
enum HarnessCatalog {
    struct Entry {
        var id: String
        var kind: String
        var views: Int
        var document: SearchDocument
    }

    static func load(_ path: String) throws -> [Entry] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var entries: [Entry] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                continue
            }
            let id = object["id"] as? String ?? ""
            let kind = object["kind"] as? String ?? ""
            let owner = object["owner"] as? String ?? ""
            let team = object["team"] as? String ?? ""
            let status = SearchStatus(rawValue: object["status"] as? String ?? "active") ?? .active
            let document = SearchDocument(
                kind: kind, kindLabel: kind.capitalized, target: .item(ItemKey(.report, id)),
                title: object["title"] as? String ?? "", tags: object["tags"] as? [String] ?? [],
                synonyms: object["synonyms"] as? [String] ?? [], description: object["description"] as? String ?? "",
                people: "\(owner) ; \(team)", team: team.isEmpty ? nil : team, teamName: team, status: status,
                popularityKey: id)
            entries.append(Entry(id: id, kind: kind, views: object["view_count"] as? Int ?? 0, document: document))
        }
        return entries
    }

    static func popularity(_ entries: [Entry]) -> [String: Popularity] {
        Dictionary(
            entries.map { ($0.id, Popularity(views7: $0.views / 4, views30: $0.views, views90: $0.views)) },
            uniquingKeysWith: { first, _ in first })
    }

    static func queries(_ path: String) throws -> ([String], [String]) {
        let texts = try String(contentsOfFile: path, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false
        )
        .map(String.init).filter { !$0.isEmpty }
        var categories = [String](repeating: "unknown", count: texts.count)
        let meta = (path as NSString).deletingPathExtension + ".jsonl"
        if let lines = try? String(contentsOfFile: meta, encoding: .utf8).split(separator: "\n") {
            let parsed = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            if parsed.compactMap({ $0["q"] as? String }) == texts {
                categories = parsed.map { $0["category"] as? String ?? "unknown" }
            }
        }
        return (texts, categories)
    }

    static func sha256(of path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    static func platform() -> String {
        var name = utsname()
        uname(&name)
        func text<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(text(name.sysname))-\(text(name.release))-\(text(name.machine))"
    }

    static func cpuModel() -> String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return info.split(separator: "\n").first { $0.hasPrefix("model name") }.map {
            $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        } ?? "unknown"
    }
}

private func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

private func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

private func peakMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

private func residentMegabytes() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
    return line.flatMap { Double($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") }
        .map { $0 / 1024 } ?? 0
}

private func percentile(_ sorted: [UInt64], _ p: Int) -> UInt64? {
    guard !sorted.isEmpty else { return nil }
    let rank = (p * sorted.count + 99) / 100
    return sorted[max(0, min(sorted.count - 1, rank - 1))]
}

private func ms(_ nanoseconds: UInt64?) -> Double? {
    nanoseconds.map { rounded(Double($0) / 1e6, 4) }
}

private func rounded(_ value: Double, _ places: Int) -> Double {
    let scale = pow(10, Double(places))
    return (value * scale).rounded() / scale
}

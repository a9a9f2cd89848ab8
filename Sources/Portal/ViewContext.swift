import AlmanacCore
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Search
import Storage
import Synchronization

/// What a view is recorded with besides its item: where the viewer came from, page or API,
/// the parameters of a template render, and whether it was a person at all.
enum ViewContext {
    /// `?from=email` (the links in digests carry it), else the same-origin page the request
    /// came from: search results or the home page; anything else is a direct visit.
    static func source(_ request: Request) -> ViewEvent.Source {
        if let from = FormQuery(request).get("from"), let source = ViewEvent.Source(rawValue: from) { return source }
        guard let referer = request.headers.firstValue(of: .referer), let url = URL(string: referer),
            let host = url.host
        else {
            return .direct
        }
        // Only the portal's own pages count; a request without a Host cannot be compared.
        if let authority = request.head.authority, let own = authority.split(separator: ":").first,
            own.lowercased() != host.lowercased()
        {
            return .direct
        }
        if url.path == "/search" || url.path == "/api/search" { return .search }
        if url.path == "/" || url.path.isEmpty { return .home }
        return .direct
    }

    /// The query of the results page a request whose ``source(_:)`` is `.search` came from
    /// (the referer's `q`, normalised for the search log).
    static func searchQuery(_ request: Request) -> String? {
        guard let referer = request.headers.firstValue(of: .referer),
            let components = URLComponents(string: referer),
            let text = components.queryItems?.first(where: { $0.name == "q" })?.value, !text.isEmpty
        else { return nil }
        let normalized = SearchQuery(parsing: text).normalized
        return normalized.isEmpty ? nil : normalized
    }

    static func channel(_ request: Request) -> ViewEvent.Channel {
        request.uri.path.hasPrefix("/api/") ? .api : .page
    }

    /// Crawlers, uptime monitors and load-balancer health checks, by their user agents.
    static func isAutomated(_ request: Request) -> Bool {
        guard let agent = request.headers.firstValue(of: .userAgent), !agent.isEmpty else { return false }
        return isAutomated(agent: agent)
    }

    /// Whether a user agent names one of ``automatedAgents``, ignoring ASCII case.
    ///
    /// Asked on every counted view: bytes compared in place, since `lowercased()` and
    /// Foundation's `contains` for each of the 15 names were 5% of a cached report page's CPU.
    static func isAutomated(agent: String) -> Bool {
        // A company's readers send a few hundred user agents, each many times: the answer is
        // remembered (15 scans of a 120-byte agent were 6% of a cached search page's CPU).
        if let known = knownAgents.withLock({ $0[agent] }) { return known }
        let automated = automatedAgents.contains { agent.containsIgnoringASCIICase($0) }
        guard agent.utf8.count <= 512 else { return automated }
        knownAgents.withLock { known in
            if known.count >= 4_096 { known.removeAll(keepingCapacity: true) }
            known[agent] = automated
        }
        return automated
    }

    /// User agents asked about, with the answer (at most 4,096 of at most 512 bytes each).
    private static let knownAgents = Mutex<[String: Bool]>([:])

    static let automatedAgents = [
        "bot", "crawler", "spider", "slurp", "kube-probe", "healthcheck", "health-check", "elb-healthchecker",
        "googlehc", "pingdom", "uptimerobot", "statuscake", "prometheus", "blackbox", "monitor",
    ]

    /// The same values give the same hash, whatever their order in the URL; `from` is not one.
    static func parametersHash(_ values: [String: String]) -> String? {
        let pairs = values.filter { $0.key != "from" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return pairs.isEmpty ? nil : Digest.fnv1a(Data(pairs.joined(separator: "\n").utf8))
    }
}

import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypesHTTP1
import Testing

@testable import Portal

/// Cached pages, search results and type-ahead suggestions are sent by the connection before
/// the router sees the request (see `CachedPageRoutes`); what the reader gets must be exactly what the router would
/// send.
@Suite(.timeLimit(.minutes(10))) struct EarlyAnswerTests {
    static let executive = identity("erin.exec@larkspur.io", groups: ["executives"])
    static let plain = identity("pat.doe@larkspur.io", groups: ["everyone"])
    static let growthMember = identity("priya.raman@larkspur.io", groups: ["everyone"])

    static let pages = [
        "/", "/browse", "/reports", "/glossary", "/teams", "/templates", "/search?q=executive",
        "/search?q=weekly&kind=report", "/search?q=signups&offset=10", "/reports/growth-overview",
        "/reports/executive-weekly", "/glossary/signups", "/teams/executives", "/teams/growth",
        "/browse?kind=metric&team=growth", "/api/search?q=weekly", "/api/search?q=executive&kind=report",
        "/api/search?q=signups&limit=5&offset=2", "/api/search?q=", "/api/search?q=growth&limit=abc",
        "/api/suggest?q=gro", "/api/suggest?q=exec&limit=3", "/api/suggest?q=x&limit=99",
    ]

    /// Headers that differ between any two responses.
    static let varying: Set<HTTPField.Name> = [HTTPField.Name("X-Request-ID")!, .date, .server]

    @Test func theEarlyAnswerIsWhatTheRouterSends() async throws {
        let auth = AuthConfiguration(trustedProxies: ["127.0.0.1"])
        let early = try await TestPortal.make(auth: auth, dashboards: true)
        var routed = try await TestPortal.make(auth: auth, dashboards: true)
        routed.environment.answersCachedPagesEarly = false
        // The same requests, in the same order, to two portals that differ only in who answers hits.
        let requests = Self.pages.flatMap { path in
            (0..<3).flatMap { _ in [Self.executive, Self.plain, Self.growthMember].map { (path, $0) } }
        }
        let answers = try await early.test { client in
            try await requests.asyncMap { try await client.get($0.0, headers: $0.1) }
        }
        let expected = try await routed.test { client in
            try await requests.asyncMap { try await client.get($0.0, headers: $0.1) }
        }
        for ((path, reader), (answer, wanted)) in zip(requests, zip(answers, expected)) {
            let who = reader[HTTPField.Name("X-Forwarded-User")!] ?? ""
            #expect(answer.status == wanted.status, "\(path) as \(who)")
            // Each portal has its own copy of the catalog, whose folder the report page names;
            // an error page names its request.
            let requestID = HTTPField.Name("X-Request-ID")!
            let text = answer.text.replacingOccurrences(of: early.directory.path, with: "DIR")
                .replacingOccurrences(of: answer.headers[requestID] ?? "-", with: "ID")
            let wantedText = wanted.text.replacingOccurrences(of: routed.directory.path, with: "DIR")
                .replacingOccurrences(of: wanted.headers[requestID] ?? "-", with: "ID")
            #expect(
                text == wantedText,
                "\(path) as \(who): the page differs: \(Self.firstDifference(text, wantedText))")
            #expect(
                answer.headers.filter { !Self.varying.contains($0.name) }
                    == wanted.headers.filter { !Self.varying.contains($0.name) },
                "\(path) as \(who): the headers differ")
            if who.hasPrefix("pat.doe") {
                if !path.contains("executive-weekly") {
                    #expect(!answer.text.contains("executive-weekly"), "\(path): a restricted report reached pat.doe")
                }
                #expect(!answer.text.contains("erin.exec"), "\(path): another reader's name")
            }
        }
        // Every page but the first read of each audience (and the restricted report, a 404 for
        // a plain reader) came from the cache; the router sent them all on the other portal.
        #expect(early.environment.earlyResponses > requests.count / 2)
        #expect(routed.environment.earlyResponses == 0)
    }

    /// The connection converts a request it may answer itself (`EarlyRequestHead`), not the
    /// router's codec: the request must be the one the codec would make, field for field
    /// (raw names included), for any head; and a head the codec would read differently
    /// (another method or version, an absolute target) is left to it.
    @Test func aRequestConvertedForAnEarlyAnswerIsTheCodecsRequest() throws {
        let heads: [[(String, String)]] = [
            [("Host", "localhost"), ("X-Forwarded-User", "pat.doe@larkspur.io"), ("X-Forwarded-Groups", "everyone")],
            [("HOST", "a.example"), ("host", "b.example"), ("Accept", "text/html"), ("accept", "*/*")],
            [("User-Agent", "Mozilla/5.0"), ("Cookie", "a=1; b=2"), ("Cookie", "c=3"), ("x-forwarded-user", "kim")],
            [("Bad Name", "dropped"), ("X(y)", "dropped"), ("", "empty"), ("X-Ok", ""), ("X-Ok", "  spaced  ")],
            [("X-Latin", "caf\u{E9} \u{1F600}"), ("Hoster", "not the host"), ("Hos", "nor this"), ("Host", "")],
            (0..<40).map { ("X-Name-\($0)", "\($0)") } + [("Host", "late.example"), ("x-name-3", "again")],
            [],
        ]
        var names = EarlyRequestHead.Names()
        for (index, fields) in (heads + heads).enumerated() {
            let head = HTTPRequestHead(
                version: .http1_1, method: .GET, uri: "/search?q=a%20b&kind=report#x",
                headers: HTTPHeaders(fields))
            let codec = try HTTPRequest(head, secure: false, splitCookie: false)
            let early = try #require(EarlyRequestHead.request(head, names: &names), "head \(index)")
            #expect(early == codec, "head \(index)")
            #expect(
                early.headerFields.map { "\($0.name.rawName): \($0.value)" }
                    == codec.headerFields.map { "\($0.name.rawName): \($0.value)" }, "head \(index)")
            #expect(early.authority == codec.authority && early.path == codec.path, "head \(index)")
        }
        for (method, version, uri) in [
            (HTTPMethod.POST, HTTPVersion.http1_1, "/"), (.HEAD, .http1_1, "/"), (.GET, .http1_0, "/"),
            (.GET, .http1_1, "http://example.com/search?q=x"), (.GET, .http1_1, "*"), (.GET, .http1_1, ""),
        ] {
            let head = HTTPRequestHead(version: version, method: method, uri: uri, headers: ["Host": "localhost"])
            #expect(EarlyRequestHead.request(head, names: &names) == nil, "\(method) \(uri) \(version)")
        }
    }

    /// Early answers take the reader from a memo of their identity headers' values. When the
    /// catalog changes what those values mean (here, pat.doe's group stops being an admin
    /// group), the reader is decided again, even though another reader (kim.staff, an admin now)
    /// has the very audience pat.doe had, with its pages kept.
    @Test func aReaderRememberedByTheirHeadersIsDecidedAgainWhenTheCatalogChanges() async throws {
        let portal = try await TestPortal.make(auth: AuthConfiguration(trustedProxies: ["127.0.0.1"])) { catalog in
            try CatalogFixture.edit(
                catalog + "/almanac.yaml", replacing: "admin_groups: [data-platform]",
                with: "admin_groups: [data-platform, everyone]")
        }
        let staff = identity("kim.staff@larkspur.io", groups: ["staff"])
        try await portal.test { client in
            var pages: [String] = []
            for (step, reader) in [Self.plain, staff, Self.plain].enumerated() {
                if step == 1 {
                    try CatalogFixture.edit(
                        portal.directory.file("Catalog/almanac.yaml"),
                        replacing: "admin_groups: [data-platform, everyone]",
                        with: "admin_groups: [data-platform, staff]")
                    let outcome = portal.environment.catalog.reloadIfChanged(force: true)
                    guard case .updated(_, _) = outcome else { throw FixtureError("the edited catalog was not loaded") }
                }
                // The first read of an audience renders the page, which is kept a moment after
                // it is sent; a later read is answered early.
                for _ in 0..<100 {
                    let before = portal.environment.earlyResponses
                    let page = try await client.get("/reports", headers: reader)
                    #expect(page.status == .ok)
                    if step == 2 { #expect(!page.text.contains("executive-weekly"), "pat.doe is no admin now") }
                    if portal.environment.earlyResponses > before {
                        pages.append(page.text)
                        break
                    }
                }
            }
            try #require(pages.count == 3, "no early answer")
            #expect(pages[0].contains("executive-weekly"), "pat.doe, an admin, sees every report")
            #expect(pages[1].contains("executive-weekly"), "kim.staff, an admin now, sees every report")
        }
    }

    /// An early answer's head is written from lines serialized once; it must be the bytes NIO
    /// writes for the router's head (`CachedPageRoutes.response(_:)`).
    @Test func theEarlyHeadIsTheRoutersHeadSerialized() async throws {
        let portal = try await TestPortal.make(auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]))
        let routes = portal.environment.cachedRoutes
        for json in [false, true] {
            let answer = CachedPageRoutes.Answer(json: json, requestID: "abc-12", pieces: [], length: 12_345)
            var written = ByteBuffer()
            routes.writeHead(answer, into: &written)
            let response = routes.response(answer)
            var expected = "HTTP/1.1 200 OK\r\n"
            for field in response.headerFields { expected += "\(field.name.rawName): \(field.value)\r\n" }
            expected += "\r\n"
            // The Date line may have moved on by a second between the two.
            let dateLine = /Date: [^\r]*\r\n/
            #expect(
                String(buffer: written).replacing(dateLine, with: "Date\r\n")
                    == expected.replacing(dateLine, with: "Date\r\n"), "json: \(json)")
            #expect(String(buffer: written).contains("Content-Length: 12345\r\nX-Request-ID: abc-12\r\n"))
        }
    }

    /// Where two texts part, with a little of each around it.
    static func firstDifference(_ one: String, _ other: String) -> String {
        let a = Array(one.utf8)
        let b = Array(other.utf8)
        let index = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
        let start = max(0, index - 60)
        return "at byte \(index): …\(String(decoding: a[start..<min(a.count, index + 60)], as: UTF8.self))… against …"
            + "\(String(decoding: b[start..<min(b.count, index + 60)], as: UTF8.self))…"
    }

    /// The `Date` header of an early answer is written as Hummingbird writes it (RFC 9110).
    @Test func theDateHeaderIsAnIMFFixdate() {
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(1_796_549_407) == "Sun, 06 Dec 2026 09:30:07 GMT")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let second = Int.random(in: 0...4_102_444_800, using: &generator)
            #expect(
                HTTPDate.format(second) == formatter.string(from: Date(timeIntervalSince1970: Double(second))),
                "\(second)")
        }
        #expect(HTTPDate.now().hasSuffix(" GMT"))
    }

    @Test func requestsTheRouterMustSeeAreNotAnsweredEarly() async throws {
        let portal = try await TestPortal.make(auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), dashboards: true)
        try await portal.test { client in
            // The report's first read generates its dashboard; the second keeps the page.
            for path in ["/reports/growth-overview", "/reports/growth-overview", "/"] {
                _ = try await client.get(path, headers: Self.plain)
            }
            let channel = NIOAsyncTestingChannel()
            channel.remoteAddress = TestPortal.loopbackPeer
            func head(
                _ path: String, method: HTTPRequest.Method = .get, headers: HTTPFields = Self.plain,
                change: (inout HTTPFields) -> Void = { _ in }
            ) -> HTTPRequest {
                var fields = headers
                change(&fields)
                return HTTPRequest(
                    method: method, scheme: "http", authority: "localhost", path: path, headerFields: fields)
            }
            #expect(portal.environment.earlyResponse(to: head("/reports/growth-overview"), channel: channel) != nil)
            #expect(portal.environment.earlyResponse(to: head("/"), channel: channel) != nil)
            let refused: [(String, HTTPRequest)] = [
                ("HEAD", head("/", method: .head)),
                ("POST", head("/", method: .post)),
                ("Connection: close", head("/") { $0[.connection] = "close" }),
                ("a body", head("/") { $0[.contentLength] = "5" }),
                ("a chunked body", head("/") { $0[.transferEncoding] = "chunked" }),
                (
                    "a repeated identity header",
                    head("/") {
                        $0.append(HTTPField(name: HTTPField.Name("X-Forwarded-User")!, value: "erin.exec@larkspur.io"))
                    }
                ),
                ("an API token", head("/") { $0[.authorization] = "Bearer almanac_0123456789" }),
                ("an escaped path", head("/reports/growth%2Doverview")),
                ("a dot segment", head("/reports/../reports/growth-overview")),
                ("an empty segment", head("/reports//growth-overview")),
                ("a trailing slash", head("/reports/growth-overview/")),
                ("a page not cached yet", head("/glossary")),
                ("a restricted report", head("/reports/executive-weekly")),
                ("an unknown report", head("/reports/no-such-report")),
                ("a JSON twin", head("/api/reports/growth-overview")),
                ("a bad search parameter", head("/api/search?q=growth&limit=abc")),
                ("a bad type-ahead parameter", head("/api/suggest?q=gro&limit=0")),
                ("nobody signed in", head("/", headers: [:])),
                ("a page not cached for this audience", head("/", headers: Self.executive)),
            ]
            for (what, request) in refused {
                #expect(portal.environment.earlyResponse(to: request, channel: channel) == nil, "\(what)")
            }
            // What was refused early is answered by the router as before.
            let nobody = try await client.get("/", headers: [:])
            #expect(nobody.status == .unauthorized || nobody.status == .forbidden)
            var twice = Self.plain
            twice.append(HTTPField(name: HTTPField.Name("X-Forwarded-User")!, value: "erin.exec@larkspur.io"))
            #expect(try await client.get("/", headers: twice).status == .badRequest)
        }
    }
}

extension RealSocketTests {
    /// The connection's early answers over a real socket: the server's headers, and answers
    /// in the order their requests came when a client sends several at once.
    @Suite struct EarlyAnswerSocketTests {
        @Test func pipelinedRequestsAreAnsweredInTheOrderTheyCame() async throws {
            let portal = try await TestPortal.make(
                auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), dashboards: true)
            try await portal.serve { client in
                let port = try #require(client.port)
                for path in ["/reports/growth-overview", "/", "/glossary"] {
                    #expect(try await client.get(path, headers: EarlyAnswerTests.plain).status == .ok)
                }
                let before = portal.environment.earlyResponses
                let user = "X-Forwarded-User: pat.doe@larkspur.io\r\nX-Forwarded-Groups: everyone\r\n"
                // Early answers (cached pages) between requests only the router answers.
                let paths = [
                    "/api/reports/growth-overview", "/reports/growth-overview", "/healthz", "/", "/glossary",
                    "/api/search?q=signups", "/", "/reports/growth-overview",
                ]
                let requests = paths.map { "GET \($0) HTTP/1.1\r\nHost: localhost\r\n\(user)\r\n" }.joined()
                let responses = try RawHTTPConnection(port: port).exchange(requests, responses: paths.count)
                #expect(responses.count == paths.count)
                for (path, response) in zip(paths, responses) {
                    #expect(response.status == 200, "\(path)")
                    switch path {
                    case "/healthz": #expect(!response.body.contains("<html"), "\(path)")
                    case let api where api.hasPrefix("/api/"): #expect(response.body.hasPrefix("{"), "\(path)")
                    case "/reports/growth-overview":
                        #expect(response.body.contains("<title>Growth overview"), "\(path)")
                    case "/glossary": #expect(response.body.contains("<title>Metric glossary"), "\(path)")
                    default: #expect(response.body.contains("<title>Home"), "\(path)")
                    }
                    #expect(response.headers["server"] == "Almanac", "\(path)")
                    #expect(response.headers["date"]?.hasSuffix(" GMT") == true, "\(path)")
                    #expect(response.headers["x-frame-options"] == "DENY", "\(path)")
                }
                // Pipelined behind a request the router answers, a cached page waits for it and
                // goes through the router too, so how many of these were early depends on how the
                // bytes arrived. One at a time, a cached page is an early answer.
                let single = try RawHTTPConnection(port: port).exchange(
                    "GET /glossary HTTP/1.1\r\nHost: localhost\r\n\(user)\r\n", responses: 1)
                #expect(single.first?.body.contains("<title>Metric glossary") == true)
                #expect(portal.environment.earlyResponses > before)
            }
        }
    }
}

/// A plain TCP connection to the portal, for what an HTTP client library does not do (several
/// requests in one write).
struct RawHTTPConnection {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    let port: Int

    /// Sends `requests` in one write and reads `count` responses (each with a Content-Length).
    func exchange(_ requests: String, responses count: Int) throws -> [Response] {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw FixtureError("no socket") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw FixtureError("cannot connect to port \(port)") }
        let bytes = Array(requests.utf8)
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
            guard written > 0 else { throw FixtureError("send failed") }
            sent += written
        }
        var received: [UInt8] = []
        var responses: [Response] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while responses.count < count {
            if let (response, length) = Self.parse(received) {
                responses.append(response)
                received.removeFirst(length)
                continue
            }
            let read = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard read > 0 else { break }  // the server closed the connection
            received += buffer[..<read]
        }
        return responses
    }

    /// The first complete response in `bytes` and its length.
    static func parse(_ bytes: [UInt8]) -> (Response, Int)? {
        let separator = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { bytes[$0..<$0 + 4].elementsEqual(separator) })
        else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = head.first, let status = Int(statusLine.split(separator: " ")[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let bodyStart = end + 4
        guard bytes.count >= bodyStart + length else { return nil }
        let body = String(decoding: bytes[bodyStart..<bodyStart + length], as: UTF8.self)
        return (Response(status: status, headers: headers, body: body), bodyStart + length)
    }
}

extension Array {
    /// `transform` applied to each element in turn, awaiting each.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

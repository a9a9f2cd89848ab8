import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Portal
import Proxy
import Synchronization
import Testing

extension RealSocketTests {
    /// External reports through `/x/{report}/…` against a real backend on a loopback port.
    @Suite(.timeLimit(.minutes(10))) struct ExternalReportTests {
        static let support = identity("sid@larkspur.io", groups: ["support"])
        /// A backend timeout no answer comes near, for checks that are not about the timeout: what
        /// they assert never depends on how busy the machine is.
        static let noCutOff = "600s"

        /// A portal whose support-insights backend is the test backend on `port`.
        static func portal(
            backendPort port: Int, timeout: String = noCutOff, host: String = "127.0.0.1"
        ) async throws
            -> TestPortal
        {
            try await TestPortal.make(
                auth: AuthConfiguration(trustedProxies: ["127.0.0.1"], allowAnonymousLoopback: false)
            ) { catalog in
                try CatalogFixture.edit(
                    catalog + "/backends/support-insights.yaml", replacing: "url: http://127.0.0.1:8601/",
                    with: "url: http://\(host):\(port)/app/")
                try CatalogFixture.edit(
                    catalog + "/backends/support-insights.yaml", replacing: "timeout: 5s", with: "timeout: \(timeout)")
            }
        }

        @Test func aBackendPageIsServedSandboxedAndCounted() async throws {
            try await TestBackend.run { port in
                let portal = try await Self.portal(backendPort: port)
                try await portal.test { client in
                    let page = try await client.get("/x/support-insights/", headers: Self.support)
                    #expect(page.status == .ok)
                    #expect(text(page).contains("Ticket volume"))
                    let csp = page.headers[.contentSecurityPolicy] ?? ""
                    #expect(
                        csp.hasPrefix("sandbox allow-scripts"), "an opaque origin: its scripts cannot act as the portal"
                    )
                    #expect(!csp.contains("allow-same-origin"))
                    #expect(page.headers[.setCookie] == nil, "a backend cannot set cookies on the portal")
                    for name in ["Clear-Site-Data", "NEL", "Report-To", "Alt-Svc", "Strict-Transport-Security"] {
                        #expect(page.headers[HTTPField.Name(name)!] == nil, "\(name) acts on the portal's origin")
                    }
                    #expect(page.headers[.cacheControl]?.hasPrefix("private") == true, "per-viewer pages stay private")
                    #expect(page.headers[HTTPField.Name("X-Frame-Options")!] == "SAMEORIGIN")
                    // A stylesheet it loads is not a view; the page is.
                    #expect(try await client.get("/x/support-insights/style.css", headers: Self.support).status == .ok)
                    await portal.environment.views.flush()
                    #expect(portal.environment.views.count(kind: "report", id: "support-insights") == 1)

                    let report = try await client.get("/reports/support-insights", headers: Self.support)
                    #expect(report.status == .ok)
                    let html = text(report)
                    #expect(html.contains("<iframe class=\"external-frame\" src=\"/x/support-insights/\""))
                    #expect(html.contains("sandbox=\"allow-scripts allow-forms allow-popups allow-downloads\""))

                    let outsider = identity("gina@larkspur.io", groups: ["growth"])
                    #expect(try await client.get("/x/support-insights/", headers: outsider).status == .notFound)
                    #expect(
                        try await client.get("/x/support-insights", headers: Self.support).status == .permanentRedirect)
                }
            }
        }

        @Test func identityAndHopByHopHeadersAreStrippedAndTheViewerNamedOnce() async throws {
            try await TestBackend.run { port in
                let portal = try await Self.portal(backendPort: port)
                try await portal.test { client in
                    var headers = Self.support
                    headers[.cookie] = "almanac_session=secret"
                    headers[.authorization] = "Bearer portal-token"
                    headers[HTTPField.Name("X-Almanac-User")!] = "ceo@larkspur.io"
                    headers[HTTPField.Name("Proxy-Connection")!] = "keep-alive"
                    headers[HTTPField.Name("Keep-Alive")!] = "timeout=5"
                    headers[.te] = "trailers"
                    headers[HTTPField.Name("X-Trace")!] = "kept"
                    headers[HTTPField.Name("X_Almanac_User")!] = "ceo@larkspur.io"
                    headers[HTTPField.Name("X_Forwarded_User")!] = "ceo@larkspur.io"
                    let response = try await client.get("/x/support-insights/echo?q=1", headers: headers)
                    #expect(response.status == .ok)
                    let echo = try json(response)
                    let seen = try #require(echo["headers"] as? [String: String])
                    #expect(seen["x-almanac-user"] == "sid@larkspur.io", "the real viewer, not the spoofed one")
                    for name in [
                        "cookie", "authorization", "x-forwarded-user", "x-forwarded-groups", "proxy-connection",
                        "keep-alive",
                        "te",
                    ] {
                        #expect(seen[name] == nil, "\(name) reached the backend")
                    }
                    #expect(seen["x-trace"] == "kept")
                    #expect(!seen.keys.contains { $0.contains("_") }, "underscore names read as dashes by CGI servers")
                    #expect(seen["host"] == "127.0.0.1:\(port)")
                    #expect(seen["x-forwarded-prefix"] == "/x/support-insights")
                    #expect(echo["path"] as? String == "/app/echo")
                    #expect(echo["query"] as? String == "q=1")

                    // A form post goes through; a body over the limit does not.
                    let posted = try await client.execute(
                        uri: "/x/support-insights/echo", method: .post, headers: Self.support,
                        body: ByteBuffer(string: "queue=billing"))
                    #expect(posted.status == .ok)
                    #expect(try json(posted)["method"] as? String == "POST")
                    let tooBig = try await client.execute(
                        uri: "/x/support-insights/echo", method: .post, headers: Self.support,
                        body: ByteBuffer(repeating: 0x61, count: BackendProxy.maximumRequestBytes + 1))
                    #expect(tooBig.status == .contentTooLarge)
                }
            }
        }

        @Test func aHangingBackendIsCutAtItsTimeoutAndTheNextRequestIsAnswered() async throws {
            try await TestBackend.serve { backend in
                // What hangs never answers while the test runs: a 504 can only be the timeout's.
                let impatient = try await Self.portal(backendPort: backend.port, timeout: "2s")
                try await impatient.test { client in
                    let hang = try await client.get("/x/support-insights/hang", headers: Self.support)
                    #expect(hang.status == .gatewayTimeout)
                    #expect(text(hang).contains("did not answer within 2s"))

                    let trickle = try await client.get("/x/support-insights/trickle", headers: Self.support)
                    #expect(trickle.status == .gatewayTimeout, "a body that never ends is cut at the timeout")
                }
                // The portal let go: the trickling backend finds its connection closed.
                await backend.events.abandoned(atLeast: 1)
                // The same backend, through the same connection pool, answers the next request.
                let patient = try await Self.portal(backendPort: backend.port, timeout: Self.noCutOff)
                try await patient.test { client in
                    let echo = try await client.get("/x/support-insights/echo", headers: Self.support)
                    #expect(echo.status == .ok)
                }
            }
        }

        @Test func aFailureARedirectElsewhereAndAHugeBodyGetClearAnswers() async throws {
            try await TestBackend.run { port in
                let portal = try await Self.portal(backendPort: port, timeout: Self.noCutOff)
                try await portal.test { client in
                    let boom = try await client.get("/x/support-insights/boom", headers: Self.support)
                    #expect(boom.status == .internalServerError, "the backend's own failure is passed on")
                    #expect(text(boom) == "backend exploded")

                    let elsewhere = try await client.get("/x/support-insights/elsewhere", headers: Self.support)
                    #expect(elsewhere.status == .badGateway)
                    #expect(text(elsewhere).contains("redirected to another site, which the portal does not follow"))
                    #expect(elsewhere.headers[.location] == nil, "the redirect elsewhere is not passed on")

                    let inside = try await client.get("/x/support-insights/inside", headers: Self.support)
                    #expect(inside.status == .found)
                    #expect(inside.headers[.location] == "/x/support-insights/echo?from=inside")

                    let big = try await client.get("/x/support-insights/big", headers: Self.support)
                    #expect(big.status == .badGateway)
                    #expect(text(big).contains("larger than the 16 MiB"))

                    let relative = try await client.get("/x/support-insights/relative", headers: Self.support)
                    #expect(relative.headers[.location] == "/x/support-insights/page?t=12:00")
                    let backslash = try await client.get("/x/support-insights/backslash", headers: Self.support)
                    #expect(backslash.status == .badGateway)
                }
            }
        }

        @Test func pathsCannotClimbOutOfTheBackendsBasePath() async throws {
            try await TestBackend.run { port in
                let portal = try await Self.portal(backendPort: port)
                try await portal.test { client in
                    for path in [
                        "/x/support-insights/%2e%2e/secret", "/x/support-insights/..%2fsecret",
                        "/x/support-insights/a/%2E%2E/%2E%2E/secret", "/x/support-insights/%5c..%5csecret",
                        "/x/support-insights//evil.example/", "/x/support-insights/a%00b",
                        "/x/support-insights/..;/secret", "/x/support-insights/%252e%252e/secret",
                        "/x/support-insights/%c0%ae%c0%ae/secret",
                    ] {
                        let response = try await client.get(path, headers: Self.support)
                        #expect(response.status == .badRequest, "\(path)")
                        #expect(!text(response).contains("outside the base path"), "\(path)")
                    }
                    // Leading slashes route to the proxy too, but are not served: the sandbox policy
                    // is chosen by path and must always apply to what is proxied.
                    let sneaky = try await client.get("///x/support-insights/", headers: Self.support)
                    #expect(sneaky.status == .notFound)
                    #expect(!text(sneaky).contains("Ticket volume"))
                }
            }
        }

        @Test func aBackendThatIsDownFailsFast() async throws {
            // A port bound but never listened on refuses connections, and stays ours for the whole
            // test (a stopped server's port could be taken by another test running alongside).
            let reserved = try ReservedPort()
            let port = reserved.port
            // A backend timeout no answer comes near: waiting it out would end in a 504 after ten
            // minutes; a refused connection is a 502 at once, whatever else the machine is doing.
            let portal = try await Self.portal(backendPort: port, timeout: Self.noCutOff)
            try await portal.test { client in
                let response = try await client.get("/x/support-insights/", headers: Self.support)
                #expect(response.status == .badGateway, "refused, not timed out")
                #expect(text(response).contains("the report app could not be reached"))
                #expect(!text(response).contains("127.0.0.1"), "no internal address on the page")
                #expect(text(response).contains("class=\"top\""), "opened on its own: a portal page")
                // In the report page's frame: the error alone, not the portal nested in itself.
                var framed = Self.support
                framed[HTTPField.Name("Sec-Fetch-Dest")!] = "iframe"
                let inFrame = try await client.get("/x/support-insights/", headers: framed)
                #expect(inFrame.status == .badGateway)
                #expect(text(inFrame).contains("the report app could not be reached"))
                #expect(!text(inFrame).contains("class=\"top\"") && !text(inFrame).contains("search-q"))
            }
            withExtendedLifetime(reserved) {}
        }

        /// The system's resolver, counting the lookups.
        final class CountingResolver: AddressResolver {
            private let calls = Mutex(0)
            var count: Int { calls.withLock { $0 } }
            func addresses(of host: String) async throws -> [IPAddress] {
                calls.withLock { $0 += 1 }
                return try await SystemResolver().addresses(of: host)
            }
        }

        @Test func aBackendNamesAddressesArePinnedForFiveMinutes() async throws {
            try await TestBackend.run { port in
                var portal = try await Self.portal(backendPort: port, host: "localhost")
                let resolver = CountingResolver()
                portal.environment.proxy = BackendProxy(
                    resolver: resolver, identityHeaders: [portal.environment.auth.userHeader])
                let running = portal
                try await running.test { client in
                    // Each request resolves the name to connect; pinning adds a lookup when due.
                    var lookups: [Int] = []
                    func view() async throws {
                        #expect(try await client.get("/x/support-insights/", headers: Self.support).status == .ok)
                        lookups.append(resolver.count)
                    }
                    try await view()
                    try await view()
                    running.clock.advance(by: .seconds(299))
                    try await view()
                    running.clock.advance(by: .seconds(1))
                    try await view()
                    #expect(lookups == [2, 3, 4, 6], "pinned at first, again five minutes later, not in between")
                }
            }
        }

        /// A resolver whose answers change between calls, as a rebinding DNS server's would.
        final class RebindingResolver: AddressResolver {
            let answers: [IPAddress]
            private let calls = Mutex(0)
            init(_ answers: [String]) { self.answers = answers.compactMap(IPAddress.init) }
            func addresses(of host: String) async throws -> [IPAddress] {
                let call = calls.withLock { count -> Int in
                    count += 1
                    return count
                }
                return [answers[min(call - 1, answers.count - 1)]]
            }
        }

        @Test func theAllowListIsCheckedOnTheAddressConnectedTo() async throws {
            try await TestBackend.run { port in
                let catalog = TestWarehouse.demoCatalog
                var backend = try #require(catalog.backend("support-insights"))
                backend.url = "http://reports.larkspur.test:\(port)/app/"
                backend.timeout = TimeSpan(600, .seconds)  // no cut-off: what is checked is where it connects
                // The name is allow-listed and pinned while it pointed at loopback…
                let resolver = RebindingResolver(["127.0.0.1", "169.254.169.254"])
                let allowList = await AllowList(["reports.larkspur.test"]).pin(using: resolver)
                #expect(allowList.permits(host: "reports.larkspur.test"))
                let proxy = BackendProxy(resolver: resolver)
                let request = ProxyRequest(
                    method: .get, path: "", query: nil, headers: [:], body: nil, viewer: "sid@larkspur.io")
                // …then re-pointed at the cloud metadata address: refused, nothing is sent.
                await #expect(throws: ProxyError.self) {
                    _ = try await proxy.forward(
                        request, to: backend, reportID: "support-insights", allowList: allowList)
                }
                do throws(ProxyError) {
                    _ = try await proxy.forward(
                        request, to: backend, reportID: "support-insights", allowList: allowList)
                } catch {
                    #expect(error.status == .badGateway)
                    #expect(error.description.contains("169.254.169.254, which is not an allow-listed address"))
                }
                // A name that is not listed at all is refused before any lookup.
                backend.url = "http://intranet.larkspur.test:\(port)/app/"
                do throws(ProxyError) {
                    _ = try await proxy.forward(
                        request, to: backend, reportID: "support-insights", allowList: allowList)
                    Issue.record("an unlisted host was proxied")
                } catch {
                    #expect(
                        error.description == "backend host 'intranet.larkspur.test' is not in backends.allowed_hosts")
                }
                // Loopback by address works: the request reaches the backend connected to 127.0.0.1.
                let direct = try await BackendProxy().forward(
                    ProxyRequest(method: .get, path: "echo", query: nil, headers: [:], body: nil, viewer: "sid"),
                    to: {
                        var b = backend; b.url = "http://localhost:\(port)/app/"; return b
                    }(),
                    reportID: "support-insights",
                    allowList: await AllowList(["localhost", "127.0.0.1"]).pin(using: SystemResolver()))
                #expect(direct.status == .ok)
            }
        }
    }
}

import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import Portal

/// Early answers remember the kept page they found by request target and audience
/// (`PageMemo`); a remembered page is only ever the one the page cache would answer.
@Suite struct PageMemoTests {
    static let token = PageMemo.Token(
        catalog: 3, catalogBroken: false, minute: 100, usageRevision: 7, indexGeneration: 2, indexDocuments: 1,
        dataDay: 20_000)

    static func found(_ text: String) -> PageMemo.Found {
        PageMemo.Found(entry: RenderedPageCache.Entry(html: text, countedView: nil), search: nil)
    }

    static func text(_ found: PageMemo.Found?) -> String? {
        found.map { $0.entry.pieces(readerName: "", count: 0).map { String(buffer: $0) }.joined() }
    }

    @Test func aPageIsRememberedForItsTargetAudienceAndTokenOnly() {
        let memo = PageMemo()
        memo.remember(Self.found("home"), target: "/", audience: 1, token: Self.token)
        #expect(Self.text(memo.found(target: "/", audience: 1, token: Self.token, now: { 0 })) == "home")
        #expect(memo.found(target: "/", audience: 2, token: Self.token, now: { 0 }) == nil, "another audience")
        #expect(memo.found(target: "/?", audience: 1, token: Self.token, now: { 0 }) == nil, "another target")
        // Any change in what the page's key or the cache's contents depend on.
        let changes: [(String, (inout PageMemo.Token) -> Void)] = [
            ("catalog", { $0.catalog += 1 }), ("broken catalog", { $0.catalogBroken = true }),
            ("minute", { $0.minute += 1 }), ("usage", { $0.usageRevision += 1 }),
            ("index", { $0.indexGeneration += 1 }), ("index documents", { $0.indexDocuments += 1 }),
            ("data day", { $0.dataDay = 20_001 }), ("no data day", { $0.dataDay = nil }),
        ]
        for (what, change) in changes {
            var other = Self.token
            change(&other)
            #expect(memo.found(target: "/", audience: 1, token: other, now: { 0 }) == nil, "\(what)")
        }
        // A page remembered under a newer token starts the memo over.
        var newer = Self.token
        newer.minute += 1
        memo.remember(Self.found("glossary"), target: "/glossary", audience: 1, token: newer)
        #expect(memo.found(target: "/", audience: 1, token: Self.token, now: { 0 }) == nil)
        #expect(memo.found(target: "/", audience: 1, token: newer, now: { 0 }) == nil)
    }

    /// A remembered page is answered only while the cache still holds it: once a newer render
    /// replaces it, or the cache evicts it, the memo lets it go (the long way then finds the
    /// new page, or renders one), while the other pages it remembers stay.
    @Test func aPageTheCacheReplacedOrEvictedIsNotAnsweredFromTheMemo() throws {
        // Room for four of these pages (about 3 KB each), not five.
        let page = String(repeating: "x", count: 3_000)
        let cache = RenderedPageCache(capacityBytes: 14_000)
        func key(_ path: String, minute: Int = 1) -> RenderedPageCache.Key {
            RenderedPageCache.Key(
                path: path, audience: Audience(isAdmin: false, groups: [], teams: []), catalogRevision: "r",
                catalogBroken: false, minute: minute)
        }
        func keep(_ path: String, _ text: String, minute: Int = 1) {
            _ = cache.answer(for: key(path, minute: minute)) {
                RenderedPageCache.Entry(html: text + page, countedView: nil)
            }
        }
        let memo = PageMemo()
        func remember(_ path: String) throws {
            let (entry, _) = try #require(cache.lookup(key(path)))
            memo.remember(.init(entry: entry, search: nil), target: path, audience: 1, token: Self.token)
        }
        func remembered(_ path: String) -> String? {
            Self.text(memo.found(target: path, audience: 1, token: Self.token, now: { 0 })).map { String($0.prefix(7)) }
        }
        keep("/a", "first a")
        keep("/b", "first b")
        try remember("/a")
        try remember("/b")
        #expect(remembered("/a") == "first a")
        // "/a" rendered again (a later minute, no out-of-date pages served): the newer page
        // replaces the kept one.
        keep("/a", "again a", minute: 2)
        #expect(remembered("/a") == nil, "a replaced page")
        #expect(remembered("/b") == "first b")
        // Three more pages: the least recently used, "/b", is evicted.
        for path in ["/c", "/d", "/e"] { keep(path, "first") }
        #expect(cache.lookup(key("/b")) == nil)
        #expect(remembered("/b") == nil, "an evicted page")
    }

    @Test func everySixteenthHitGoesTheLongWayAndLongTargetsAreNotRemembered() {
        let memo = PageMemo()
        memo.remember(Self.found("home"), target: "/", audience: 1, token: Self.token)
        let hits = (1...64).map { _ in memo.found(target: "/", audience: 1, token: Self.token, now: { 0 }) != nil }
        #expect(hits.filter { !$0 }.count == 64 / PageMemo.fullLookupEvery)
        let long = "/search?q=" + String(repeating: "a", count: PageMemo.longestTarget)
        memo.remember(Self.found("long"), target: long, audience: 1, token: Self.token)
        #expect(memo.found(target: long, audience: 1, token: Self.token, now: { 0 }) == nil)
    }

    @Test func anOutOfDatePageIsRememberedUntilItsRefreshIsDue() {
        let memo = PageMemo()
        var found = Self.found("home, figures of a minute ago")
        found.servedUntil = 1_090
        memo.remember(found, target: "/", audience: 1, token: Self.token)
        #expect(memo.found(target: "/", audience: 1, token: Self.token, now: { 1_089.9 }) != nil)
        #expect(memo.found(target: "/", audience: 1, token: Self.token, now: { 1_090 }) == nil)
    }

    /// Out of date (another minute), a kept page is answered as it is from the memo, and once its
    /// refresh is due the long way starts that render: the memo does not keep the page's figures
    /// from moving.
    @Test func aRememberedOutOfDatePageStillGetsItsBackgroundRender() async throws {
        let portal = try await TestPortal.make(
            auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), pageStaleSeconds: 60)
        let reader = identity("pat.doe@larkspur.io", groups: ["everyone"])
        try await portal.test { client in
            func readUntilEarlyTwice() async throws {
                var early = 0
                for _ in 0..<100 where early < 2 {
                    let before = portal.environment.earlyResponses
                    #expect(try await client.get("/glossary", headers: reader).status == .ok)
                    early = portal.environment.earlyResponses > before ? early + 1 : 0
                }
                #expect(early == 2)
            }
            try await readUntilEarlyTwice()
            await portal.environment.pages.rendersSettled()
            let rendered = portal.environment.pages.rendered
            // Another minute: the page is out of date, served as it is, nothing rendered yet.
            portal.clock.advance(by: .seconds(61))
            try await readUntilEarlyTwice()
            await portal.environment.pages.rendersSettled()
            #expect(portal.environment.pages.rendered == rendered)
            // Past its refresh time (60 s and up to half as much again): the next read starts
            // one background render while the page is still served.
            portal.clock.advance(by: .seconds(31))
            #expect(try await client.get("/glossary", headers: reader).status == .ok)
            await portal.environment.pages.rendersSettled()
            #expect(portal.environment.pages.rendered == rendered + 1)
        }
    }

    /// A broken edit on disk changes no catalog (the last good one keeps serving) but every page
    /// shows admins a banner: a page remembered before must not be answered after.
    @Test func aRememberedPageIsNotAnsweredOnceTheCatalogOnDiskIsBroken() async throws {
        let portal = try await TestPortal.make(auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]))
        let reader = identity("dana.admin@larkspur.io", groups: ["data-platform"])
        try await portal.test { client in
            for broken in [false, true] {
                if broken {
                    try "id: [unclosed\n".write(
                        toFile: portal.directory.file("Catalog/teams/broken.yaml"), atomically: true, encoding: .utf8)
                    let outcome = portal.environment.catalog.reloadIfChanged(force: true)
                    guard case .rejected = outcome else { throw FixtureError("the broken edit was not rejected") }
                }
                // Until answered early twice in a row (the second from the memo).
                var early = 0
                for _ in 0..<100 where early < 2 {
                    let before = portal.environment.earlyResponses
                    let page = try await client.get("/glossary", headers: reader)
                    #expect(page.status == .ok)
                    #expect(page.text.contains("catalog files on disk have errors") == broken, "broken: \(broken)")
                    early = portal.environment.earlyResponses > before ? early + 1 : 0
                }
                #expect(early == 2)
            }
        }
    }
}

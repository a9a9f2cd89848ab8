import Catalog
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import Portal

/// A cached page that is only out of date (another minute, newer usage figures or search
/// index) is served while one render of the current page runs in the background; a page
/// for another audience or catalog never is, and one too old is rendered first.
@Suite struct StalePageTests {
    static let audience = Audience(isAdmin: false, groups: ["everyone"], teams: [])

    static func key(
        minute: Int, usage: Int = 0, audience: Audience = audience, catalog: String = "c1"
    )
        -> RenderedPageCache.Key
    {
        RenderedPageCache.Key(
            path: "/", audience: audience, catalogRevision: catalog, catalogBroken: false, minute: minute,
            usageRevision: usage)
    }

    static func entry(_ text: String) -> RenderedPageCache.Entry {
        RenderedPageCache.Entry(html: text, countedView: nil)
    }

    static func text(_ entry: RenderedPageCache.Entry) -> String {
        entry.pieces(readerName: "", count: 0).map { String(buffer: $0) }.joined()
    }

    /// Opens once, from outside a render that waits on it.
    final class Gate: Sendable {
        private let stream: AsyncStream<Void>
        private let continuation: AsyncStream<Void>.Continuation
        init() { (stream, continuation) = AsyncStream.makeStream() }
        func open() { continuation.finish() }
        func wait() async { for await _ in stream {} }
    }

    /// Seconds the test sets.
    final class Time: Sendable {
        private let seconds = Mutex<Double>(1_000)
        var now: Double { seconds.withLock { $0 } }
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
    }

    static func cache(_ time: Time, seconds: Double? = 60) -> RenderedPageCache {
        RenderedPageCache(stalePolicy: seconds.map { .init(seconds: $0) }, now: { time.now })
    }

    @Test func anOutOfDatePageIsServedAsItIsThenWhileItRendersInTheBackground() async throws {
        let time = Time()
        let cache = Self.cache(time)
        let first = try await cache.page(for: Self.key(minute: 10)) { Self.entry("usage 0") }
        #expect(Self.text(first) == "usage 0")

        // Figures moved a moment after the render: served as it is, nothing rendered.
        time.advance(20)
        let early = try await cache.page(for: Self.key(minute: 10, usage: 1)) {
            Issue.record("rendered again 20 s after its render")
            return Self.entry("early")
        }
        #expect(Self.text(early) == "usage 0" && cache.rendered == 1)

        // Past its refresh time (60 to 90 s): served as it is while one render runs behind,
        // even when that render cannot finish yet.
        time.advance(75)
        let gate = Gate()
        let stale = try await cache.page(for: Self.key(minute: 11, usage: 2)) {
            await gate.wait()
            return Self.entry("usage 2")
        }
        #expect(Self.text(stale) == "usage 0")
        #expect(cache.rendered == 2, "one background render started")
        // Others asking meanwhile get the kept page too, and start no second render.
        let again = try await cache.page(for: Self.key(minute: 11, usage: 2)) {
            Issue.record("a second render while one runs")
            return Self.entry("twice")
        }
        #expect(Self.text(again) == "usage 0" && cache.rendered == 2)

        gate.open()
        await cache.rendersSettled()
        let fresh = try await cache.page(for: Self.key(minute: 11, usage: 2)) {
            Issue.record("the background render was not kept")
            return Self.entry("thrice")
        }
        #expect(Self.text(fresh) == "usage 2")
        #expect(cache.count == 1, "one page per stable key, not one per minute or usage figure")

        // Too old (three times the refresh time): rendered before it is served.
        time.advance(181)
        let late = try await cache.page(for: Self.key(minute: 14, usage: 3)) { Self.entry("usage 3") }
        #expect(Self.text(late) == "usage 3")
    }

    @Test func aReaderOfATooOldPageDoesNotWaitForARefreshQueuedBehindOthers() async throws {
        let time = Time()
        let cache = Self.cache(time)
        // Two pages; the first page's refresh holds the only background turn.
        let home = Self.key(minute: 10)
        var browse = Self.key(minute: 10)
        browse.path = "/browse"
        _ = try await cache.page(for: home) { Self.entry("home 0") }
        _ = try await cache.page(for: browse) { Self.entry("browse 0") }
        time.advance(100)
        let gate = Gate()
        var homeNow = home
        homeNow.usageRevision = 1
        var browseNow = browse
        browseNow.usageRevision = 1
        _ = try await cache.page(for: homeNow) {
            await gate.wait()
            return Self.entry("home 1")
        }
        let queued = try await cache.page(for: browseNow) { Self.entry("browse 1 (queued)") }
        #expect(Self.text(queued) == "browse 0")
        // Browse is now too old; its refresh still waits for its turn. The reader renders.
        time.advance(200)
        browseNow.usageRevision = 2
        let rendered = try await cache.page(for: browseNow) { Self.entry("browse 2") }
        #expect(Self.text(rendered) == "browse 2")
        gate.open()
        await cache.rendersSettled()
        // The queued refresh, superseded, did not replace the newer page.
        let kept = try await cache.page(for: browseNow) { Self.entry("unused") }
        #expect(Self.text(kept) == "browse 2")
    }

    @Test func anotherAudienceOrCatalogNeverGetsAKeptPage() async throws {
        let cache = Self.cache(Time(), seconds: 600)
        _ = try await cache.page(for: Self.key(minute: 10)) { Self.entry("everyone's") }
        let executives = Audience(isAdmin: false, groups: ["executives"], teams: [])
        let other = try await cache.page(for: Self.key(minute: 11, audience: executives)) {
            Self.entry("executives'")
        }
        #expect(Self.text(other) == "executives'")
        let reloaded = try await cache.page(for: Self.key(minute: 11, catalog: "c2")) { Self.entry("catalog 2") }
        #expect(Self.text(reloaded) == "catalog 2")
    }

    @Test func withoutAPolicyEveryOutOfDatePageIsRenderedFirst() async throws {
        let cache = Self.cache(Time(), seconds: nil)
        _ = try await cache.page(for: Self.key(minute: 10)) { Self.entry("old") }
        let current = try await cache.page(for: Self.key(minute: 10, usage: 1)) { Self.entry("new") }
        #expect(Self.text(current) == "new")
        #expect(cache.count == 1)
    }

    @Test func aFailedBackgroundRenderKeepsThePageAndLetsTheNextRequestTryAgain() async throws {
        struct Broken: Error {}
        let time = Time()
        let cache = Self.cache(time)
        _ = try await cache.page(for: Self.key(minute: 10)) { Self.entry("kept") }
        time.advance(100)
        let stale = try await cache.page(for: Self.key(minute: 10, usage: 1)) { throw Broken() }
        #expect(Self.text(stale) == "kept")
        await cache.rendersSettled()
        let retried = try await cache.page(for: Self.key(minute: 10, usage: 1)) { Self.entry("retried") }
        #expect(Self.text(retried) == "kept", "still the kept page, a new render behind it")
        await cache.rendersSettled()
        let fresh = try await cache.page(for: Self.key(minute: 10, usage: 1)) { Self.entry("unused") }
        #expect(Self.text(fresh) == "retried")
    }

    final class Log: Sendable {
        private let state = Mutex<[String]>([])
        func add(_ line: String) { state.withLock { $0.append(line) } }
        var lines: [String] { state.withLock { $0 } }
    }

    @Test func backgroundRendersTakeTurns() async throws {
        let turns = TakingTurns()
        let gate = Gate()
        let log = Log()
        let first = Task {
            try await turns.run {
                log.add("first starts")
                await gate.wait()
                log.add("first ends")
            }
        }
        while log.lines.isEmpty { await Task.yield() }
        let second = Task {
            try await turns.run { log.add("second runs") }
        }
        // The second cannot start while the first holds its turn, however often it is asked.
        for _ in 0..<1_000 { await Task.yield() }
        #expect(log.lines == ["first starts"])
        gate.open()
        try await first.value
        try await second.value
        #expect(log.lines == ["first starts", "first ends", "second runs"])
    }
}

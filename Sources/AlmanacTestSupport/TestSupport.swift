import Artifacts
import Catalog
import Composition
import Foundation
public import Hummingbird
import Logging
import Pages
public import Portal
import Proxy
import Rendering
import Storage
import Warehouse

/// A fresh folder under the system temp directory, removed when the value goes away.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "almanac-test") throws {
        let base = URL(fileURLWithPath: NSTemporaryDirectory(), isDirectory: true)
        let url = base.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `path/relative`.
    public func file(_ relative: String) -> String { (path as NSString).appendingPathComponent(relative) }

    /// Writes `contents` to `relative`, creating folders.
    public func write(_ relative: String, _ contents: String) throws {
        let target = file(relative)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: target, atomically: true, encoding: .utf8)
    }
}

/// Paths of the repository's own files, found from this source file's location.
public enum Repository {
    /// The repository root (the folder holding Package.swift).
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The demo company's catalog, `Catalog/`.
    public static var demoCatalog: String { root + "/Catalog" }
    /// The portal's templates and static files, `Web/`.
    public static var web: String { root + "/Web" }
    /// Where tests leave artifacts worth looking at (screenshots); kept out of git.
    public static var artifacts: String { root + "/test-artifacts" }

    /// The debug build of the `almanac` executable; `swift build` makes it before the tests run.
    public static var almanacBinary: String { root + "/.build/debug/almanac" }
}

/// Catalog folders for tests.
public enum CatalogFixture {
    /// Copies the demo catalog into `directory/name` and returns its path.
    public static func copyDemo(into directory: TemporaryDirectory, name: String = "Catalog") throws -> String {
        let target = directory.file(name)
        try FileManager.default.copyItem(atPath: Repository.demoCatalog, toPath: target)
        return target
    }

    /// Replaces the first occurrence of `old` with `new` in `file`, failing loudly when `old` is absent
    /// so that a fixture edit never silently does nothing.
    public static func edit(_ file: String, replacing old: String, with new: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        guard let range = text.range(of: old) else {
            throw FixtureError("'\(old)' not found in \(file)")
        }
        try text.replacingCharacters(in: range, with: new).write(toFile: file, atomically: true, encoding: .utf8)
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A portal built exactly as `almanac serve` builds it, on temporary state, with time in the
/// test's hands.
///
/// ``test(_:)`` runs it in process; ``serve(_:)`` on a loopback port.
public struct TestPortal: Sendable {
    public var environment: PortalEnvironment
    public let directory: TemporaryDirectory
    /// The portal's clock: its background services (view flushing, catalog polling, entity
    /// refresh, the lifecycle poll, schedules) move only when the test moves it.
    public let clock: ManualClock

    /// - Parameters:
    ///   - catalog: the catalog folder (default: a copy of the demo catalog).
    ///   - auth: who is trusted; the default lets loopback in as the local developer.
    ///   - dashboards: serve dashboards from the tiny demo warehouse, generated on demand into a temp folder.
    ///   - pollInterval: the catalog watcher's shortest wait between looks (it waits longer when
    ///     looks are expensive, up to `CatalogWatcher.longestWait`).
    ///   - clock: the portal's clock, and where its time starts (noon UTC today by default).
    ///   - editCatalog: edits the catalog (the portal's own copy of the demo's, unless `catalog`
    ///     is given) before the portal loads it.
    ///   - statePath: the state store's file, to share it with another portal as a second
    ///     instance would (default: the portal's own).
    ///   - pageStaleSeconds: how long a cached page whose figures moved is served as it is
    ///     (`almanac serve --page-stale-seconds`); `nil`, the default: never.
    public static func make(
        catalog: String? = nil, auth: AuthConfiguration = AuthConfiguration(allowAnonymousLoopback: true),
        pollInterval: Duration = .milliseconds(200), dashboards: Bool = false,
        generators: PortalSetup.Generators? = nil, clock: ManualClock = ManualClock(), statePath: String? = nil,
        pageCacheBytes: Int = 256 << 20, searchCacheBytes: Int = 32 << 20, pageStaleSeconds: Int? = nil,
        editCatalog: (String) throws -> Void = { _ in }
    ) async throws -> TestPortal {
        let directory = try TemporaryDirectory(prefix: "almanac-portal")
        let catalogPath = try catalog ?? CatalogFixture.copyDemo(into: directory)
        try editCatalog(catalogPath)
        var setup = PortalSetup(
            catalog: catalogPath, state: statePath ?? directory.file("state.sqlite"), web: Repository.web, auth: auth)
        setup.catalogPollInterval = pollInterval
        setup.pageCacheBytes = pageCacheBytes
        setup.searchCacheBytes = searchCacheBytes
        setup.pageStaleSeconds = pageStaleSeconds
        // Scheduled runs are not renewed: a test moving the clock a minute does not also wake a
        // renewal beside the sleepers it waits for (JobSchedulerTests test the renewal).
        setup.jobLease = nil
        if dashboards || generators != nil {
            // The tiny demo warehouse, with its own clock: the portal's manual clock moving on
            // must not time out a query that is running.
            setup.dashboards = PortalSetup.Dashboards(
                warehouse: .opened(try TestWarehouse.open()), artifacts: directory.file("artifacts"),
                asOf: TestWarehouse.asOf, schedule: false, generators: generators)
        }
        var logger = Logger(label: "almanac-test")
        logger.logLevel = .warning
        let environment = try await PortalEnvironment.make(setup, logger: logger, clock: clock)
        return TestPortal(environment: environment, directory: directory, clock: clock)
    }

    /// The application on an ephemeral loopback port.
    public func application() -> some ApplicationProtocol {
        buildApplication(environment, server: ServerConfiguration(host: "127.0.0.1", port: 0))
    }
}

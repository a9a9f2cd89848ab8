public import AlmanacCore
public import Foundation
import Synchronization

/// A catalog that failed to load, with every problem found.
public struct CatalogLoadFailure: AlmanacError, Sendable {
    public var directory: String
    public var diagnostics: [Diagnostic]
    public var userMessage: String {
        let errors = diagnostics.filter { $0.severity == .error }
        return "the catalog in '\(directory)' has \(errors.count) error\(errors.count == 1 ? "" : "s"):\n"
            + errors.map(\.description).joined(separator: "\n")
    }
    public var hint: String? { "run 'almanac catalog check \(directory)' to list them as file:line:column" }
}

/// What the portal knows about its catalog: which version serves, and whether the files
/// on disk currently hold a broken edit.
public struct CatalogStatus: Sendable {
    public var directory: String
    public var version: String
    public var loadedAt: Date
    public var lastCheckedAt: Date
    /// Problems of the newest files on disk when they did not validate; empty when the
    /// serving catalog is the newest.
    public var rejectedDiagnostics: [Diagnostic]
    public var rejectedAt: Date?
    /// Warnings of the serving catalog.
    public var warnings: [Diagnostic]
}

/// How one reload attempt went.
public enum CatalogReloadOutcome: Sendable {
    case unchanged
    case updated(previous: Catalog, current: Catalog)
    case rejected([Diagnostic])
}

/// The catalog a portal serves at one moment, with what every request asks of it worked out once.
public final class CatalogSnapshot: Sendable {
    public let catalog: Catalog
    /// `catalog.revision` (the files' version and the overlay's), computed once.
    public let revision: String
    /// Counts the catalogs served by one ``CatalogStore``: a new one for every change (a reload,
    /// a lifecycle action), so memos of what a catalog decides can tell they are out of date.
    public let generation: Int
    /// `catalog.accessGroups`: the only groups visibility depends on.
    public let accessGroups: Set<String>

    init(_ catalog: Catalog, generation: Int) {
        self.catalog = catalog
        revision = catalog.revision
        self.generation = generation
        accessGroups = catalog.accessGroups
    }
}

/// Holds the catalog a running portal serves and swaps in a new one only if it validated.
///
/// Reads are a lock and a copy of a struct of arrays (copy-on-write), cheap enough for
/// every request; a broken edit on disk leaves the last good catalog serving and is
/// reported through ``status``.
public final class CatalogStore: Sendable {
    private struct State {
        /// The catalog as its files declare it.
        var declared: Catalog
        /// Lifecycle actions on top of the files.
        var overlay = CatalogOverlay()
        /// `declared.applying(overlay)`: what is served.
        var catalog: Catalog {
            didSet { snapshot = CatalogSnapshot(catalog, generation: snapshot.generation + 1) }
        }
        /// `catalog`, shared: handed to every request without copying the catalog's arrays.
        var snapshot: CatalogSnapshot
        /// The newest overlay reload handed out, and the newest one applied.
        var overlayTickets: (issued: UInt64, applied: UInt64) = (0, 0)
        var status: CatalogStatus
        var fingerprint: String
        var lookDuration: Duration = .zero
    }

    public let directory: String
    private let state: Mutex<State>

    /// Loads `directory`; a portal does not start on a broken catalog.
    /// - Throws: ``CatalogLoadFailure`` with every problem.
    public init(directory: String, now: Date = Date()) throws(CatalogLoadFailure) {
        let fingerprint = CatalogStore.fingerprint(directory)
        let result = CatalogLoader.load(directory: directory, now: now)
        guard let catalog = result.catalog else {
            throw CatalogLoadFailure(directory: directory, diagnostics: result.diagnostics)
        }
        self.directory = directory
        state = Mutex(
            State(
                declared: catalog, catalog: catalog, snapshot: CatalogSnapshot(catalog, generation: 0),
                status: CatalogStatus(
                    directory: directory, version: catalog.version, loadedAt: now, lastCheckedAt: now,
                    rejectedDiagnostics: [], rejectedAt: nil, warnings: result.warnings),
                fingerprint: fingerprint))
    }

    /// The catalog being served: the files with the lifecycle overlay applied.
    public var current: Catalog { state.withLock { $0.catalog } }
    /// The catalog being served as one shared object: a lock and a retain, where ``current``
    /// copies a struct of some thirty arrays (each retained and released). For the request
    /// path, which asks on every request.
    public var snapshot: CatalogSnapshot { state.withLock { $0.snapshot } }
    /// The catalog as its files declare it, without the lifecycle overlay.
    public var declared: Catalog { state.withLock { $0.declared } }
    /// The lifecycle overlay being applied.
    public var overlay: CatalogOverlay { state.withLock { $0.overlay } }

    /// A ticket for one overlay reload: take it before reading the state store, hand it to
    /// ``setOverlay(_:ticket:)``, so that a slower reload that read older state cannot replace
    /// the overlay of one that started after it.
    public func overlayTicket() -> UInt64 {
        state.withLock { state in
            state.overlayTickets.issued += 1
            return state.overlayTickets.issued
        }
    }

    /// Serves the files with `overlay` applied from now on, unless a reload that started later
    /// already set one; returns whether anything changed.
    @discardableResult
    public func setOverlay(_ overlay: CatalogOverlay, ticket: UInt64? = nil) -> Bool {
        state.withLock { state in
            if let ticket {
                guard ticket > state.overlayTickets.applied else { return false }
                state.overlayTickets.applied = ticket
            }
            guard state.overlay != overlay else { return false }
            state.overlay = overlay
            state.catalog = state.declared.applying(overlay)
            return true
        }
    }
    public var status: CatalogStatus { state.withLock { $0.status } }
    /// The served catalog's settings, without copying the whole catalog (asked on every request).
    public var settings: CatalogSettings { state.withLock { $0.catalog.settings } }
    /// Whether the last reload was rejected (the served catalog is older than the files), without
    /// copying the status.
    public var isBroken: Bool { state.withLock { !$0.status.rejectedDiagnostics.isEmpty } }
    /// How long the last look at the files took (stat'ing them all, not reloading).
    public var lastLookDuration: Duration { state.withLock { $0.lookDuration } }

    /// Reloads when the files changed since the last look.
    ///
    /// - Parameter force: reload even when the files look unchanged.
    public func reloadIfChanged(now: Date = Date(), force: Bool = false) -> CatalogReloadOutcome {
        let clock = ContinuousClock()
        var fingerprint = ""
        let duration = clock.measure { fingerprint = Self.fingerprint(directory) }
        let unchanged = state.withLock { state -> Bool in
            state.lookDuration = duration
            state.status.lastCheckedAt = now
            return state.fingerprint == fingerprint && !force
        }
        if unchanged { return .unchanged }
        let result = CatalogLoader.load(directory: directory, now: now)
        return state.withLock { state -> CatalogReloadOutcome in
            state.fingerprint = fingerprint
            guard let catalog = result.catalog else {
                state.status.rejectedDiagnostics = result.diagnostics
                state.status.rejectedAt = now
                return .rejected(result.diagnostics)
            }
            state.status.rejectedDiagnostics = []
            state.status.rejectedAt = nil
            state.status.warnings = result.warnings
            guard catalog.version != state.declared.version else { return .unchanged }
            let previous = state.catalog
            state.declared = catalog
            state.catalog = catalog.applying(state.overlay)
            state.status.version = catalog.version
            state.status.loadedAt = now
            return .updated(previous: previous, current: state.catalog)
        }
    }

    /// Names, sizes and modification times of every file under `directory`: different
    /// whenever an editor or `git pull` writes.
    ///
    /// A plain `readdir`/`lstat` walk whose per-file hashes are combined in an order-free
    /// way: about 1 µs a file, where Foundation's enumerator with attributes took ten times that.
    static func fingerprint(_ directory: String) -> String {
        var combined: UInt64 = 0
        var count: UInt64 = 0
        func walk(_ path: String, _ relative: String) {
            guard let handle = opendir(path) else { return }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let full = path + "/" + name
                let child = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat(full, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: walk(full, child)
                case S_IFREG:
                    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
                    for byte in child.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
                    for value in [
                        UInt64(bitPattern: Int64(info.st_size)), UInt64(bitPattern: Int64(info.st_mtim.tv_sec)),
                        UInt64(bitPattern: Int64(info.st_mtim.tv_nsec)), UInt64(info.st_ino),
                    ] {
                        hash = (hash ^ value) &* 0x100_0000_01b3
                    }
                    // Mixed, then added: the order files are listed in does not matter.
                    hash ^= hash >> 33
                    hash = hash &* 0xff51_afd7_ed55_8ccd
                    hash ^= hash >> 33
                    combined = combined &+ hash
                    count += 1
                default: continue
                }
            }
        }
        walk(directory, "")
        return String(combined, radix: 16) + "-" + String(count)
    }
}

/// What changed between two catalogs, by object.
public struct CatalogChanges: Sendable, Equatable {
    public var added: [ItemKey]
    public var changed: [ItemKey]
    public var removed: [ItemKey]

    public init(from previous: Catalog?, to current: Catalog) {
        let before = previous?.itemDigests ?? [:]
        let after = current.itemDigests
        added = after.keys.filter { before[$0] == nil }.sorted()
        changed = after.keys.filter { before[$0] != nil && before[$0] != after[$0] }.sorted()
        removed = before.keys.filter { after[$0] == nil }.sorted()
    }

    public var isEmpty: Bool { added.isEmpty && changed.isEmpty && removed.isEmpty }
}

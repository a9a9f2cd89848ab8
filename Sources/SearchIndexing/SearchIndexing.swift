public import AlmanacCore
public import Catalog
public import Foundation
public import Lifecycle
public import Logging
import Scheduling
public import Search
public import ServiceLifecycle
public import Storage
public import Warehouse

/// Popularity for search ranking: views in the last 7, 30 and 90 days, from the usage rollups.
public struct ViewLogPopularity: PopularitySource {
    public let usage: UsageService

    public init(usage: UsageService) { self.usage = usage }

    public func popularity() async throws -> [String: Popularity] {
        try await usage.totals().mapValues { Popularity(views7: $0.views7, views30: $0.views30, views90: $0.views90) }
    }
}

/// Keeps a ``SearchIndex`` in step with the catalog, the entities' values in the warehouse
/// and popularity. Shared by the portal (through ``SearchIndexingService``) and the CLI.
public struct SearchIndexer: Sendable {
    public let index: SearchIndex
    public let warehouse: (any Warehouse)?
    public let popularity: (any PopularitySource)?
    public let state: (any StateStore)?
    public let logger: Logger
    /// Stamps the recorded runs.
    public let clock: any WallClock

    public init(
        index: SearchIndex, warehouse: (any Warehouse)?, popularity: (any PopularitySource)?,
        state: (any StateStore)?, logger: Logger, clock: any WallClock = SystemClock()
    ) {
        self.index = index
        self.warehouse = warehouse
        self.popularity = popularity
        self.state = state
        self.logger = logger
        self.clock = clock
    }

    /// Indexes the catalog's objects (only what changed since the last call is rebuilt).
    @discardableResult
    public func indexCatalog(_ catalog: Catalog) -> Int {
        // The server indexes before it starts and the indexing service again when it runs:
        // the second look costs nothing.
        guard index.catalogVersion != catalog.revision || catalog.version.isEmpty else { return 0 }
        let documents = CatalogDocuments.documents(for: catalog)
        index.retainEntities(Set(catalog.entities.map(\.id.rawValue)))
        return index.updateCatalog(documents, synonyms: catalog.settings.searchSynonyms, version: catalog.revision)
    }

    /// Reads the values of `entities` from the warehouse and swaps them into the index. A
    /// failing lookup keeps that entity's previous values and is recorded as a failed run.
    public func loadEntities(_ entities: [Entity], catalog: Catalog) async {
        guard let warehouse else { return }
        var batches: [(entity: String, documents: [SearchDocument])] = []
        var timings: [(Entity, Started, Int)] = []
        for entity in entities {
            let started = Started(at: clock.date, measured: .now)
            do {
                let rows = try await EntityLookup.rows(for: entity, catalog: catalog, warehouse: warehouse)
                let documents = CatalogDocuments.documents(
                    for: entity,
                    rows: rows.map { CatalogDocuments.EntityRow(key: $0.key, label: $0.label, aliases: $0.aliases) },
                    catalog: catalog)
                batches.append((entity.id.rawValue, documents))
                timings.append((entity, started, documents.count))
            } catch {
                logger.warning(
                    "could not read entity values for search",
                    metadata: ["entity": "\(entity.id)", "error": "\(error)"])
                await record(entity, started: started, rows: 0, error: "\(error)")
            }
        }
        // Segments are built on every core at once, off the cooperative pool.
        let ready = batches
        await offloaded { [index] in index.replaceEntityValues(ready) }
        for (entity, started, rows) in timings { await record(entity, started: started, rows: rows, error: nil) }
    }

    /// When a lookup started, on the injected clock, and (for how long it took) on the real one.
    private struct Started {
        var at: Date
        var measured: ContinuousClock.Instant
    }

    private func record(_ entity: Entity, started: Started, rows: Int, error: String?) async {
        guard let state else { return }
        let run = RunRecord(
            kind: "index", target: "entity:\(entity.id)", startedAt: started.at,
            durationMilliseconds: Int((ContinuousClock.now - started.measured) / .milliseconds(1)), rows: rows,
            error: error)
        try? await state.recordRun(run)
    }

    /// Re-reads view counts, and the results opened after each query (90 days), into the ranking.
    public func refreshPopularity() async {
        if let popularity {
            do {
                index.updatePopularity(try await popularity.popularity())
            } catch {
                logger.warning("could not read popularity for search", metadata: ["error": "\(error)"])
            }
        }
        if let state {
            do {
                index.updateQueryClicks(try await state.searchClicks(since: UsageDay.of(clock.now.date) - 89))
            } catch {
                logger.warning("could not read search clicks", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Runs beside the server: re-indexes the catalog when it changes, re-reads entity values
/// on their schedule (`refresh` on the entity, else `search.entity_refresh`) and when
/// their definition changes, and refreshes popularity every `popularityInterval`.
public struct SearchIndexingService: Service {
    public let indexer: SearchIndexer
    public let catalog: CatalogStore
    public var pollInterval: Duration
    public var popularityInterval: Duration
    /// Decides when entity values and popularity are due.
    public var clock: any WallClock
    /// Opened when the state store is migrated: popularity is read only after it.
    public var ready: Gate?
    /// When the service was built: its polls and popularity refreshes count from here.
    let createdAt: WallInstant

    public init(
        indexer: SearchIndexer, catalog: CatalogStore, pollInterval: Duration = .milliseconds(250),
        popularityInterval: Duration = .seconds(30), clock: any WallClock = SystemClock(), ready: Gate? = nil
    ) {
        self.indexer = indexer
        self.catalog = catalog
        self.pollInterval = pollInterval
        self.popularityInterval = popularityInterval
        self.clock = clock
        self.ready = ready
        self.createdAt = clock.now
    }

    public func run() async throws {
        // Beats count from when the service was built: time that passes before it runs, or
        // during the first load, is not lost.
        var ticker = Ticker(every: pollInterval, on: clock, from: createdAt)
        var indexed = catalog.current
        let indexer = indexer
        let first = indexed
        _ = await offloaded { indexer.indexCatalog(first) }
        await ready?.wait()
        if let ready, !ready.isOpen { return }  // stopped before the state store was ready
        await indexer.refreshPopularity()
        await indexer.loadEntities(indexed.entities, catalog: indexed)
        var due = Self.nextRefresh(indexed, after: clock.date)
        var popularityDue = createdAt.advanced(by: popularityInterval)
        while await ticker.tick() {
            let current = catalog.current
            if current.revision != indexed.revision {
                let entities = Self.entitiesToReload(from: indexed, to: current)
                // Values of an entity whose access changed leave search at once, not when
                // (or if) the warehouse answers the re-read below.
                let tightened = entities.filter { Self.access(of: $0, in: current) != Self.access(of: $0, in: indexed) }
                if !tightened.isEmpty { indexer.index.replaceEntityValues(tightened.map { ($0.id.rawValue, []) }) }
                let changed = await offloaded { indexer.indexCatalog(current) }
                indexer.logger.info(
                    "search index updated",
                    metadata: ["documents": "\(changed)", "entities": "\(entities.map(\.id.rawValue))"])
                indexed = current
                due = Self.nextRefresh(current, after: clock.date)
                await indexer.loadEntities(entities, catalog: current)
            }
            let now = clock.date
            let expired = current.entities.filter { entity in due[entity.id].map { $0 <= now } ?? false }
            if !expired.isEmpty {
                await indexer.loadEntities(expired, catalog: current)
                for entity in expired { due[entity.id] = Self.nextRefresh(current, after: clock.date)[entity.id] }
            }
            if clock.now >= popularityDue {
                await indexer.refreshPopularity()
                popularityDue = clock.now.advanced(by: popularityInterval)
            }
        }
    }

    /// When each entity's values are next re-read.
    public static func nextRefresh(_ catalog: Catalog, after date: Date) -> [EntityID: Date] {
        let zone = TimeZone(identifier: catalog.settings.timezone) ?? .gmt
        var result: [EntityID: Date] = [:]
        for entity in catalog.entities {
            let expression = entity.refresh ?? catalog.settings.entityRefreshSchedule
            if let schedule = try? CronSchedule(parsing: expression),
                let next = schedule.nextFire(after: date, in: zone)
            {
                result[entity.id] = next
            }
        }
        return result
    }

    /// The groups an entity's values are restricted to (the entity's and its template's).
    static func access(of entity: Entity, in catalog: Catalog) -> [[String]] {
        guard let current = catalog.entity(entity.id) else { return [] }
        return [current.access, catalog.template(current.template)?.access ?? []]
    }

    /// Entities that are new, or whose definition, source or template changed.
    public static func entitiesToReload(from previous: Catalog, to current: Catalog) -> [Entity] {
        current.entities.filter { entity in
            let keys = [
                ItemKey(.entity, entity.id.rawValue), ItemKey(.source, entity.source.rawValue),
                ItemKey(.template, entity.template.rawValue),
            ]
            return keys.contains { previous.itemDigests[$0] != current.itemDigests[$0] }
        }
    }
}

import AlmanacCore
import Catalog
import Foundation
import Hummingbird
import Metrics
import Pages
import Rendering
import Search

/// `/search` (page), `/api/search` (JSON) and `/api/suggest` (type-ahead).
///
/// The query text itself is never an error (any text gives results or none); only the
/// paging and filter parameters are checked, and a bad one gets a 400 that names it.
struct SearchController {
    let environment: PortalEnvironment

    func addRoutes(to router: Router<AppRequestContext>) {
        // The search page is cached per audience like the catalog's pages: the same words from
        // people in the same groups get the same page while the index does not change.
        router.get(Route.Mount.search.routerPath) { request, context in
            let viewer = try context.requireViewer()
            let query = FormQuery(request)
            let search = try Self.searchRequest(query)
            let snapshot = environment.catalog.snapshot
            let catalog = snapshot.catalog
            let key = pageKey(request, query, viewer: viewer, catalog: snapshot)
            let entry = try await environment.pages.page(for: key) { [environment, key] in
                let reader = key.audience.reader
                let builder = PageBuilder(view: CatalogView(catalog, viewer: reader), now: environment.now())
                let model = run(search, builder: builder, viewer: reader)
                let title = search.text.isEmpty ? "Search" : "Search: \(search.text.prefix(80))"
                var layout = builder.layout(
                    title: title, active: nil, apiURL: Route.search(search).apiPath,
                    catalogBroken: key.catalogBroken, searchText: search.text)
                layout.viewerName = RenderedPageCache.readerMarker
                let html = try environment.renderer.render(Page(layout: layout, page: model), template: "pages/search")
                var entry = RenderedPageCache.Entry(html: html, countedView: nil)
                entry.resultCount = model.total
                entry.loggedQuery = search.query.normalized
                return entry
            }
            return HTMLResponse.make(pieces: readerPieces(entry, search, viewer, request))
        }
        environment.cachedRoutes.register(.search) { request, context in
            guard let viewer = context.viewer else { return nil }
            let snapshot = environment.catalog.snapshot
            let memo = environment.pageMemoKey(request, context, snapshot)
            if let memo,
                let found = environment.pageMemo.found(
                    target: memo.target, audience: memo.audience, token: memo.token, now: environment.pages.clock),
                let search = found.search
            {
                environment.pages.countHit(stale: found.servedUntil != nil)
                return readerPieces(found.entry, search, viewer, request, name: context.reader?.name)
            }
            let query = FormQuery(request)
            guard let search = try? Self.searchRequest(query),
                let (entry, servedUntil) = environment.pages.lookup(
                    pageKey(request, query, viewer: viewer, catalog: snapshot, reader: context.reader))
            else { return nil }
            if let memo {
                environment.pageMemo.remember(
                    .init(entry: entry, search: search, servedUntil: servedUntil), target: memo.target,
                    audience: memo.audience, token: memo.token)
            }
            return readerPieces(entry, search, viewer, request, name: context.reader?.name)
        }
        // The index answers in memory, in well under a millisecond at 100,000 entries, so a
        // connection's event loop runs it before the router (see `CachedPageRoutes`); a bad
        // parameter still gets the router's 400. Answers are kept per audience like the search
        // page's: the same words from people in the same groups are searched once while the
        // index does not change.
        environment.cachedRoutes.register(.search, api: true) { request, context in
            let query = FormQuery(request)
            guard let viewer = context.viewer, let search = try? Self.searchRequest(query) else { return nil }
            return answer(request, query, viewer, reader: context.reader) { apiBody(search, viewer: $0) }
        }
        router.get(Route.Mount.search.apiRouterPath) { request, context in
            let viewer = try context.requireViewer()
            let search = try Self.searchRequest(request)
            return JSONResponse.make(pieces: [apiBody(search, viewer: viewer)])
        }
        // Type-ahead is answered in memory too, on the event loop like the search API, and kept
        // the same way: people in one audience type the same first letters.
        environment.cachedRoutes.register(.suggest, api: true) { request, context in
            let query = FormQuery(request)
            guard let viewer = context.viewer, let (text, limit) = try? Self.suggestRequest(query) else { return nil }
            return answer(request, query, viewer, reader: context.reader) {
                suggestBody(text, limit: limit, viewer: $0)
            }
        }
        router.get(Route.Mount.suggest.apiRouterPath) { request, context in
            let viewer = try context.requireViewer()
            let (text, limit) = try Self.suggestRequest(request)
            return JSONResponse.make(pieces: [suggestBody(text, limit: limit, viewer: viewer)])
        }
    }

    /// Type-ahead's text and how many suggestions it asks for.
    static func suggestRequest(_ request: Request) throws -> (text: String, limit: Int) {
        try suggestRequest(FormQuery(request))
    }

    static func suggestRequest(_ query: FormQuery) throws -> (text: String, limit: Int) {
        (query.get("q") ?? "", try integer(query, "limit", default: 8, in: 1...20))
    }

    /// A JSON answer (`/api/search`, `/api/suggest`) kept per audience and request in
    /// ``PortalEnvironment/searchResults``: `body` makes it for the audience's nameless reader
    /// on a miss; with the cache off, for `viewer` on every request.
    private func answer(
        _ request: Request, _ query: FormQuery, _ viewer: Viewer, reader: Audiences.SignedIn?,
        _ body: (Viewer) -> ByteBuffer
    ) -> [ByteBuffer] {
        guard let results = environment.searchResults else { return [body(viewer)] }
        var key = pageKey(request, query, viewer: viewer, catalog: environment.catalog.snapshot, reader: reader)
        key.format = .json
        return results.answer(for: key) { RenderedPageCache.Entry(body: body(key.audience.reader)) }.pieces
    }

    /// `/api/suggest`'s JSON.
    private func suggestBody(_ text: String, limit: Int, viewer: Viewer) -> ByteBuffer {
        let started = ContinuousClock.now
        let hits = environment.search.suggest(text, viewer: viewer, limit: limit)
        SearchMetrics.suggest.record(ContinuousClock.now - started, empty: hits.isEmpty)
        return JSONResponse.body(builder(for: viewer).suggestions(text, hits: hits))
    }

    /// The search page's key in the cache of rendered pages.
    private func pageKey(
        _ request: Request, _ query: FormQuery, viewer: Viewer, catalog: CatalogSnapshot,
        reader: Audiences.SignedIn? = nil
    ) -> RenderedPageCache.Key {
        // Drafts show to their owners' teams: search asks about every team of the reader.
        var key = environment.pageKey(
            request, viewer: viewer, catalog: catalog, teams: nil, query: query, reader: reader)
        (key.indexGeneration, key.indexDocuments) = environment.search.generations
        return key
    }

    /// A cached search page's pieces for `viewer`, after logging the search.
    private func readerPieces(
        _ entry: RenderedPageCache.Entry, _ search: SearchRequest, _ viewer: Viewer, _ request: Request,
        name: ByteBuffer? = nil
    ) -> [ByteBuffer] {
        // The search log: each search typed into the box (its first page), not who typed it.
        if environment.recordsViews, search.offset == 0, !ViewContext.isAutomated(request) {
            environment.views.recordSearch(
                query: entry.loggedQuery ?? search.query.normalized, found: (entry.resultCount ?? 0) > 0,
                at: environment.now())
        }
        if let name { return entry.pieces(name: name, count: 0) }
        return entry.pieces(readerName: viewer.displayName, count: 0)
    }

    /// `/api/search`'s JSON.
    private func apiBody(_ search: SearchRequest, viewer: Viewer) -> ByteBuffer {
        ByteBuffer(bytes: run(search, builder: builder(for: viewer), viewer: viewer).jsonBytes())
    }

    private func run(_ search: SearchRequest, builder: PageBuilder, viewer: Viewer) -> SearchPageModel {
        let started = ContinuousClock.now
        let results = environment.search.search(
            search.query, viewer: viewer,
            options: SearchOptions(limit: search.limit, offset: search.offset, explain: search.debug))
        SearchMetrics.search.record(ContinuousClock.now - started, empty: results.total == 0)
        return builder.search(search, results: results)
    }

    private func builder(for viewer: Viewer) -> PageBuilder {
        PageBuilder(view: CatalogView(environment.catalog.current, viewer: viewer), now: environment.now())
    }

    static func searchRequest(_ request: Request) throws -> SearchRequest {
        try searchRequest(FormQuery(request))
    }

    static func searchRequest(_ query: FormQuery) throws -> SearchRequest {
        let text = query.get("q") ?? ""
        // No character count for a text with fewer bytes than the limit allows characters.
        var search = SearchRequest(
            text: text.utf8.count <= SearchQuery.maximumLength ? text : String(text.prefix(SearchQuery.maximumLength)))
        for filter in SearchFilter.allCases {
            guard let value = query.get(filter.rawValue), !value.isEmpty else { continue }
            guard value.count <= 64 else {
                throw PortalError.badParameter(filter.rawValue, "longer than 64 characters")
            }
            if filter == .status, SearchStatus(rawValue: value.lowercased()) == nil {
                throw PortalError.badParameter(
                    "status", "'\(value)' is not a status; use one of active, deprecated, draft, retired")
            }
            search.filters[filter] = value
        }
        search.limit = try integer(query, "limit", default: SearchRequest.defaultLimit, in: 1...100)
        search.offset = try integer(query, "offset", default: 0, in: 0...10_000)
        if let debug = query.get("debug") {
            guard ["0", "1", "true", "false", ""].contains(debug) else {
                throw PortalError.badParameter("debug", "'\(debug)' is not 0 or 1")
            }
            search.debug = debug == "1" || debug == "true"
        }
        return search
    }

    /// The whole number `name` of an already parsed query, checked against `range`.
    static func integer(
        _ query: FormQuery, _ name: String, default value: Int, in range: ClosedRange<Int>
    ) throws
        -> Int
    {
        guard let text = query.get(name), !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw PortalError.badParameter(
                name, "'\(text.prefix(40))' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }
}

/// Search latency, queries and queries with no result, per kind (`search` or `suggest`).
struct SearchMetrics: Sendable {
    static let search = SearchMetrics(kind: "search")
    static let suggest = SearchMetrics(kind: "suggest")

    let duration: Metrics.Timer
    let queries: Counter
    let empty: Counter

    init(kind: String) {
        PortalMetrics.bootstrap()
        duration = Metrics.Timer(label: "almanac_search_duration_seconds", dimensions: [("kind", kind)])
        queries = Counter(label: "almanac_search_queries_total", dimensions: [("kind", kind)])
        empty = Counter(label: "almanac_search_zero_results_total", dimensions: [("kind", kind)])
    }

    func record(_ elapsed: Duration, empty isEmpty: Bool) {
        duration.record(duration: elapsed)
        queries.increment()
        if isEmpty { empty.increment() }
    }
}

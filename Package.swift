// swift-tools-version:6.2
import PackageDescription

/// Settings every Almanac target shares: Swift 6 language mode plus the upcoming
/// features that make strict code stricter.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Almanac",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "almanac", targets: ["almanac"]),
        .executable(name: "almanac-bench", targets: ["almanac-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Already in the graph through Hummingbird and swift-prometheus: the metrics API the
        // modules record into; the portal's Prometheus registry is its backend.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        // Already in the graph through Hummingbird: the HTTP response parts the portal's own
        // channel handler sees.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        // Already in the graph through postgres-nio; SHA-256 for API token secrets.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // Shared vocabulary: typed ids, source locations, diagnostics, progress, viewers.
        .target(name: "AlmanacCore"),
        // Cron expressions, the one job scheduler (claimed once per time through the state store)
        // and the rhythm of background loops, on an injected clock.
        .target(
            name: "Scheduling",
            dependencies: [
                "AlmanacCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Catalog-as-code: YAML model, loader with positions, validator, live store.
        .target(
            name: "Catalog",
            dependencies: [
                "AlmanacCore", "Scheduling",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Time-series analysis (smoothing, significance bands) and server-side SVG charts.
        .target(name: "Charts", dependencies: ["AlmanacCore"]),
        // postgres:// URLs → postgres-nio client pools, and URLs with their passwords redacted
        // (shared by the warehouse and the state store).
        .target(
            name: "PostgresConnection",
            dependencies: [
                "AlmanacCore", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ]),
        // The stats database: metric model → dialect SQL, read-only SQLite and PostgreSQL
        // connections, schema checks, loading exports and the demo company into a warehouse.
        .target(
            name: "Warehouse",
            dependencies: [
                "AlmanacCore", "Catalog", "PostgresConnection",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ]),
        // Rendered reports on disk: atomic versions, a pointer to the latest, pruning.
        .target(name: "Artifacts", dependencies: ["AlmanacCore"]),
        // Rendering infrastructure: Mustache pages, formatting for people, and every URL
        // (Route, the one mount table). Generators and Delivery render with it alone.
        .target(
            name: "Rendering",
            dependencies: ["AlmanacCore", "Catalog", .product(name: "Mustache", package: "swift-mustache")]),
        // Full-text search over the catalog and entity values; no I/O of its own.
        .target(name: "Search", dependencies: ["AlmanacCore", "Catalog"]),
        // Keeps the search index current beside the portal: the catalog, entity values from the
        // warehouse on their schedules, and popularity from the usage rollups.
        .target(
            name: "SearchIndexing",
            dependencies: [
                "AlmanacCore", "Catalog", "Search", "Storage", "Warehouse", "Scheduling", "Lifecycle",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Opens the catalog, state store and warehouse every command and portal starts from.
        .target(name: "Composition", dependencies: ["AlmanacCore", "Catalog", "Storage", "Warehouse"]),
        // Dashboards: panels → metric results → analysis → charts → artifacts, and where a portal
        // gets them (generated here, or copied from remote generators: DashboardSource).
        .target(
            name: "Generators",
            dependencies: [
                "AlmanacCore", "Catalog", "Warehouse", "Charts", "Artifacts", "Storage", "Rendering", "Scheduling",
                "Proxy", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Almanac's own state (views, runs, lifecycle log): protocol, SQLite and PostgreSQL stores.
        .target(
            name: "Storage",
            dependencies: [
                "AlmanacCore", "Scheduling", "SQLiteRows", "PostgresConnection",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]),
        // Usage figures, lifecycle actions (deprecate, retire, transfer, certify) and the
        // retirement review, over the catalog and the state store.
        .target(
            name: "Lifecycle",
            dependencies: [
                "AlmanacCore", "Catalog", "Storage", "Scheduling", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Writing many rows fast: statements bound through SQLite's C API on GRDB's statements.
        .target(
            name: "SQLiteRows",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]),
        // libcurl for SMTP, through non-variadic wrappers of curl_easy_setopt (Debian: libcurl4-openssl-dev).
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        // Push delivery: digests and triggers (jobs of the scheduler), the outbox, e-mail over SMTP.
        .target(
            name: "Delivery",
            dependencies: [
                "AlmanacCore", "Catalog", "Charts", "Scheduling", "Storage", "Warehouse", "Rendering", "CCurl",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Mustache", package: "swift-mustache"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // The synthetic demo company's warehouse.
        .target(
            name: "DemoCompany",
            dependencies: ["AlmanacCore", "SQLiteRows", .product(name: "GRDB", package: "GRDB.swift")]),
        // What the demo runs beside its portal: the teams' report apps (the experiment notebook,
        // Datasette for support), a receiver for its webhooks and tasks, and live product events.
        .target(
            name: "DemoApps",
            dependencies: [
                "AlmanacCore", "Charts", "Scheduling", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // The portal's view models (PageBuilder), drawn with Rendering.
        .target(
            name: "Pages",
            dependencies: [
                "AlmanacCore", "Catalog", "Scheduling", "Search", "Lifecycle", "Storage", "Rendering",
            ]),
        // Talking to other HTTP services: the report apps teams run (allow-list, address
        // pinning, header policy) and remote generators.
        .target(
            name: "Proxy",
            dependencies: [
                "AlmanacCore", "Catalog",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        // The HTTP edge; the only module that imports Hummingbird but for DemoApps' stand-ins.
        .target(
            name: "Portal",
            dependencies: [
                "AlmanacCore", "Catalog", "Storage", "Pages", "Rendering", "Warehouse", "Artifacts", "Generators",
                "Search", "SearchIndexing", "Scheduling", "Proxy", "Lifecycle", "Delivery", "Composition",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // The command tree; parses arguments and calls the modules.
        .target(
            name: "AlmanacCLI",
            dependencies: [
                "AlmanacCore", "Catalog", "Storage", "DemoCompany", "DemoApps", "Portal", "Warehouse", "Generators",
                "Artifacts", "Pages", "Rendering", "Search", "SearchIndexing", "Lifecycle", "Delivery", "Proxy",
                "Composition", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // In-process benchmarks for Benchmarks/ (their own binary: nothing of them ships in almanac).
        .target(
            name: "AlmanacBench",
            dependencies: [
                "AlmanacCLI", "AlmanacCore", "Catalog", "Storage", "Generators", "Artifacts", "Pages", "Rendering",
                "Search", "Lifecycle", "Warehouse", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(name: "almanac-bench", dependencies: ["AlmanacBench"]),
        .executableTarget(
            name: "almanac",
            dependencies: [
                "AlmanacCLI", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        // Helpers with names for tests: temp dirs, fixtures, a manual clock, a portal in process or on a socket.
        .target(
            name: "AlmanacTestSupport",
            dependencies: [
                "AlmanacCore", "Catalog", "Storage", "Portal", "DemoCompany", "Warehouse", "Artifacts", "Generators",
                "Proxy", "Pages", "Rendering", "Composition", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),
        .testTarget(
            name: "CatalogTests",
            dependencies: [
                "Catalog", "Scheduling", "AlmanacTestSupport", .product(name: "Logging", package: "swift-log"),
            ], exclude: ["Fixtures"]),
        .testTarget(name: "ChartsTests", dependencies: ["Charts"]),
        .testTarget(
            name: "SchedulingTests",
            dependencies: [
                "Scheduling", "AlmanacCore", "AlmanacTestSupport", "Storage",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "ArtifactsTests", dependencies: ["Artifacts", "AlmanacTestSupport"]),
        .testTarget(
            name: "GeneratorsTests",
            dependencies: [
                "Generators", "Warehouse", "Artifacts", "Storage", "DemoCompany", "Rendering", "Scheduling",
                "AlmanacTestSupport",
            ]),
        .testTarget(
            name: "WarehouseTests", dependencies: ["Warehouse", "Catalog", "DemoCompany", "AlmanacTestSupport"],
            exclude: ["__Snapshots__"]),
        .testTarget(name: "DemoCompanyTests", dependencies: ["DemoCompany", "AlmanacTestSupport"]),
        .testTarget(
            name: "SearchTests",
            dependencies: [
                "Search", "SearchIndexing", "Catalog", "Warehouse", "Pages", "Rendering", "Storage", "Lifecycle",
                "AlmanacTestSupport",
            ]),
        .testTarget(
            name: "StorageTests",
            dependencies: [
                "Storage", "Scheduling", "AlmanacTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]),
        .testTarget(
            name: "DeliveryTests",
            dependencies: [
                "Delivery", "Scheduling", "Storage", "Catalog", "Charts", "Warehouse", "DemoCompany", "Rendering",
                "AlmanacTestSupport", .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["Support"]),
        .testTarget(
            name: "LifecycleTests",
            dependencies: [
                "Lifecycle", "Catalog", "Storage", "AlmanacTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "PortalTests",
            dependencies: [
                "Portal", "Catalog", "Pages", "Rendering", "Storage", "AlmanacTestSupport", "Proxy", "Lifecycle",
                "Delivery", "Composition",
                "Generators", "Warehouse", "DemoApps", "DemoCompany",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ], exclude: ["Browser"]),
        .testTarget(
            name: "CLITests",
            dependencies: [
                "AlmanacCLI", "AlmanacTestSupport", "Storage", "Catalog", "Lifecycle",
                .product(name: "Logging", package: "swift-log"),
            ]),
    ]
)

for target in package.targets {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}

public import Logging
public import ServiceLifecycle

/// What `almanac demo` runs beside its portal, on the addresses the demo catalog names.
public enum DemoApps {
    /// The receiver of the demo's webhooks (`Catalog/subscriptions`, `Catalog/triggers`) and tasks.
    public static let receiverPort = 9000
    public static let receiverURL = "http://127.0.0.1:\(receiverPort)"
    /// `Catalog/backends/support-insights.yaml`: Datasette.
    public static let supportInsightsPort = 8601
    /// `Catalog/backends/experiment-notebook.yaml`.
    public static let experimentNotebookPort = 8602

    /// The services: the receiver; with a SQLite warehouse, the experiment notebook and
    /// Datasette over it, and when `live`, the live events.
    ///
    /// - Parameters:
    ///   - warehouse: the demo's SQLite warehouse, or `nil` when it is served from PostgreSQL.
    ///   - directory: the demo's folder, for Datasette's log.
    ///   - web: the portal's `Web/` folder (Datasette's metadata is in `demo-apps/`).
    public static func services(
        warehouse: String?, directory: String, web: String, live: Bool, logger: Logger
    ) -> [any Service] {
        var services: [any Service] = [
            OptionalService(
                name: "the receiver of webhooks and tasks",
                DemoReceiver.application(port: receiverPort, logger: logger),
                logger: logger)
        ]
        guard let warehouse else { return services }
        do {
            services.append(
                OptionalService(
                    name: "the experiment notebook",
                    try ExperimentNotebook(warehouse: warehouse).application(
                        port: experimentNotebookPort, logger: logger),
                    logger: logger))
        } catch {
            logger.warning("the experiment notebook could not open the warehouse", metadata: ["error": "\(error)"])
        }
        services.append(
            ChildProcess(
                name: "support-insights (Datasette)", executable: "datasette",
                arguments: datasetteArguments(warehouse: warehouse, web: web),
                logFile: directory + "/support-insights.log",
                installHint:
                    "scripts/install-prerequisites installs it (python3 -m pip install 'datasette>=0.65,<0.66')",
                logger: logger))
        if live { services.append(LiveEvents(warehouse: warehouse, logger: logger)) }
        return services
    }

    /// Datasette over the warehouse as the support team runs it: their four tables, canned
    /// queries, mounted under the portal's `/x/support-insights/` (see
    /// `Web/demo-apps/support-insights/README.md` for why each setting).
    public static func datasetteArguments(
        warehouse: String, web: String, port: Int = supportInsightsPort
    ) -> [String] {
        let folder = web + "/demo-apps/support-insights"
        return [
            "serve", warehouse, "--host", "127.0.0.1", "--port", "\(port)",
            "--metadata", folder + "/metadata.json", "--plugins-dir", folder + "/plugins",
            "--setting", "base_url", "/x/support-insights/", "--setting", "allow_download", "off",
            "--setting", "default_allow_sql", "off", "--setting", "suggest_facets", "off",
            "--setting", "sql_time_limit_ms", "3000", "--setting", "facet_time_limit_ms", "1000",
            "--setting", "max_csv_mb", "15",
        ]
    }
}

/// A service the demo can do without (a port already taken): its failure is logged and the
/// portal goes on serving.
struct OptionalService<Wrapped: Service>: Service {
    let name: String
    let wrapped: Wrapped
    let logger: Logger

    init(name: String, _ wrapped: Wrapped, logger: Logger) {
        self.name = name
        self.wrapped = wrapped
        self.logger = logger
    }

    func run() async throws {
        do {
            try await wrapped.run()
        } catch {
            logger.warning("\(name) is not running", metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
        }
    }
}

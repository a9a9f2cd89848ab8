public import AlmanacCore

/// How big the demo company is at `scale` 1, before multiplying by the scale.
///
/// ``standard`` is the documented size (5,000 workspaces, 100,000 users, 6,500,000 events).
/// ``tiny`` keeps every part of the story at a fraction of the size, for tests.
public struct DemoCompanySize: Sendable, Equatable {
    /// Workspaces at scale 1.
    public var workspaces: Int
    /// Workspaces added for each unit of scale above 1.
    public var workspacesPerExtraScale: Int
    /// Workspaces of the `major` tier (at any scale).
    public var majorWorkspaces: Int
    /// Users per unit of scale.
    public var usersPerScale: Int
    /// Product events per unit of scale.
    public var eventsPerScale: Int

    /// A custom size; the generator checks it is coherent when writing.
    public init(
        workspaces: Int, workspacesPerExtraScale: Int, majorWorkspaces: Int, usersPerScale: Int,
        eventsPerScale: Int
    ) {
        self.workspaces = workspaces
        self.workspacesPerExtraScale = workspacesPerExtraScale
        self.majorWorkspaces = majorWorkspaces
        self.usersPerScale = usersPerScale
        self.eventsPerScale = eventsPerScale
    }

    /// The documented size: 5,000 workspaces (+1,000 per extra scale), 40 of them major,
    /// 100,000 users and 6,500,000 events per unit of scale.
    public static let standard = DemoCompanySize(
        workspaces: 5_000, workspacesPerExtraScale: 1_000, majorWorkspaces: 40, usersPerScale: 100_000,
        eventsPerScale: 6_500_000)

    /// A small company with the same story, for tests: 600 workspaces, 12,000 users, 780,000 events.
    public static let tiny = DemoCompanySize(
        workspaces: 600, workspacesPerExtraScale: 120, majorWorkspaces: 12, usersPerScale: 12_000,
        eventsPerScale: 780_000)
}

/// What to generate: the seed, the scale and the last day of history.
public struct DemoCompanyOptions: Sendable, Equatable {
    /// Seed of every random choice; the same options always give the same table contents.
    public var seed: UInt64
    /// Multiplies users and events (1…100); 1 gives ≥ 6,500,000 events, ≥ 100,000 users, 5,000 workspaces.
    public var scale: Int
    /// The last day of history, `YYYY-MM-DD`; history covers the 730 days ending on it.
    public var asOf: String
    /// The size at scale 1; ``DemoCompanySize/standard`` unless a test wants a smaller company.
    public var size: DemoCompanySize

    /// Options with the documented defaults: seed 42, scale 1, as of 2026-11-25.
    public init(seed: UInt64 = 42, scale: Int = 1, asOf: String = "2026-11-25", size: DemoCompanySize = .standard) {
        self.seed = seed
        self.scale = scale
        self.asOf = asOf
        self.size = size
    }
}

/// What a ``DemoCompany/write(to:options:progress:)`` call produced.
public struct DemoCompanySummary: Sendable, Equatable {
    /// Rows written per table name.
    public var rowCounts: [String: Int]
    /// First day of history, `YYYY-MM-DD` (729 days before ``lastDay``).
    public var firstDay: String
    /// Last day of history, `YYYY-MM-DD` (the `asOf` option).
    public var lastDay: String

    /// A summary from its parts.
    public init(rowCounts: [String: Int], firstDay: String, lastDay: String) {
        self.rowCounts = rowCounts
        self.firstDay = firstDay
        self.lastDay = lastDay
    }
}

/// Why the demo warehouse could not be written: bad options or an I/O or SQLite failure.
public struct DemoCompanyError: Error, CustomStringConvertible {
    /// A sentence a person can act on.
    public var message: String

    /// An error with the given message.
    public init(_ message: String) {
        self.message = message
    }

    /// The message, prefixed with `demo company:`.
    public var description: String { "demo company: \(message)" }
}

/// Larkspur, the synthetic work-management SaaS company whose warehouse `almanac demo` writes.
///
/// See `docs/demo-company.md` for the tables and the story the data tells.
public enum DemoCompany {
    /// The generator's version: it changes whenever the same options write different data
    /// (2: weekly engagement levels, 6,500,000 events at scale 1, `support_tickets`; 3: events
    /// indexed by workspace, time, person and event together), so a warehouse kept from an
    /// earlier version can be told apart and written again.
    public static let version = 3

    /// Writes the warehouse to `path` (replacing an existing file atomically).
    ///
    /// The rows are written to a temporary file next to `path`, which is renamed over `path`
    /// only once complete, so a half-written warehouse never appears under the final name.
    ///
    /// - Parameters:
    ///   - path: where the SQLite file goes; its directory must exist.
    ///   - options: seed, scale, last day and size.
    ///   - progress: receives `update`/`finish` per phase (`reference`, `workspaces`, `users`,
    ///     `billing`, `ad_spend`, `events`, `indexes`).
    /// - Returns: the rows written per table and the first and last day of history.
    /// - Throws: ``DemoCompanyError`` for invalid options or when the file cannot be written.
    public static func write(
        to path: String, options: DemoCompanyOptions, progress: any ProgressSink
    ) throws -> DemoCompanySummary {
        let plan = try GenerationPlan(options: options)
        return try WarehouseWriter(plan: plan, progress: progress).write(to: path)
    }

    /// The exact number of rows ``write(to:options:progress:)`` produces in the `workspaces`,
    /// `users` and `events` tables for `options`, without generating anything.
    ///
    /// - Throws: ``DemoCompanyError`` for invalid options.
    public static func plannedRowCounts(options: DemoCompanyOptions) throws -> [String: Int] {
        let plan = try GenerationPlan(options: options)
        return ["workspaces": plan.workspaceCount, "users": plan.userCount, "events": plan.eventCount]
    }
}

/// Validated options turned into the numbers and days the generator works with.
struct GenerationPlan {
    let seed: UInt64
    let size: DemoCompanySize
    let workspaceCount: Int
    let majorCount: Int
    let userCount: Int
    let eventCount: Int
    /// Last day of history (day number).
    let lastDay: Int
    /// First day of history (day number), 729 days before ``lastDay``.
    let firstDay: Int
    /// First day anyone signed up: a year of pre-history, so the company is established on ``firstDay``.
    let originDay: Int

    init(options: DemoCompanyOptions) throws {
        guard (1...100).contains(options.scale) else {
            throw DemoCompanyError("scale must be between 1 and 100, got \(options.scale)")
        }
        guard let last = CivilCalendar.parse(options.asOf) else {
            throw DemoCompanyError("as-of date must be a real date written YYYY-MM-DD, got \"\(options.asOf)\"")
        }
        guard
            (CivilCalendar.dayNumber(
                year: 2001, month: 1, day: 1)...CivilCalendar.dayNumber(year: 2199, month: 12, day: 31)).contains(last)
        else {
            throw DemoCompanyError("as-of date must be between 2001 and 2199, got \(options.asOf)")
        }
        let size = options.size
        guard size.workspaces >= 50, size.majorWorkspaces >= 3, size.majorWorkspaces * 5 <= size.workspaces,
            size.workspacesPerExtraScale >= 0, size.usersPerScale >= size.workspaces * 4,
            size.eventsPerScale >= size.usersPerScale * 60
        else {
            throw DemoCompanyError(
                "size must have at least 50 workspaces, 3 majors (at most a fifth of the workspaces), "
                    + "4 users per workspace and 60 events per user")
        }
        seed = options.seed
        self.size = size
        workspaceCount = size.workspaces + size.workspacesPerExtraScale * (options.scale - 1)
        majorCount = size.majorWorkspaces
        userCount = size.usersPerScale * options.scale
        eventCount = size.eventsPerScale * options.scale
        lastDay = last
        firstDay = last - 729
        originDay = firstDay - 365
    }
}

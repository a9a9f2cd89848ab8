public import Foundation

/// A five-field cron expression (`minute hour day-of-month month day-of-week`).
///
/// Supports `*`, lists (`1,15`), ranges (`1-5`), steps (`*/15`, `0-30/10`), month and
/// weekday names (`jan`, `mon-fri`), `7` as Sunday, and the shorthands `@hourly`,
/// `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually`. As in Vixie cron,
/// when both day fields are restricted a day matches if either does.
public struct CronSchedule: Hashable, Sendable, CustomStringConvertible {
    public let expression: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    /// Why an expression was refused; `field` names the part that is wrong.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    private struct Field {
        let name: String
        let range: ClosedRange<Int>
        let names: [String: Int]
    }

    private static let fields: [Field] = [
        Field(name: "minute", range: 0...59, names: [:]),
        Field(name: "hour", range: 0...23, names: [:]),
        Field(name: "day of month", range: 1...31, names: [:]),
        Field(
            name: "month", range: 1...12,
            names: [
                "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
                "nov": 11, "dec": 12,
            ]),
        Field(
            name: "day of week", range: 0...7,
            names: ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]),
    ]

    private static let shorthands: [String: String] = [
        "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
    ]

    /// Parses `expression`.
    /// - Throws: ``ParseError`` naming the field and the part that is wrong.
    /// Fires on some days of the month only (`0 8 3 * *`): a monthly cadence.
    public var isMonthly: Bool { dayOfMonthRestricted && !dayOfWeekRestricted }
    /// Fires on one day of the week only (`0 9 * * fri`): a weekly cadence.
    public var isWeekly: Bool { dayOfWeekRestricted && !dayOfMonthRestricted && daysOfWeek.count == 1 }

    public init(parsing expression: String) throws(ParseError) {
        let trimmed = expression.trimmingCharacters(in: .whitespaces)
        var text = trimmed
        if trimmed.hasPrefix("@") {
            guard let expanded = Self.shorthands[trimmed.lowercased()] else {
                throw ParseError(
                    message:
                        "unknown cron shorthand '\(trimmed)' (known: \(Self.shorthands.keys.sorted().joined(separator: ", ")))"
                )
            }
            text = expanded
        }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw ParseError(
                message:
                    "cron expression '\(trimmed)' has \(parts.count) field\(parts.count == 1 ? "" : "s"); expected 5 (minute hour day-of-month month day-of-week)"
            )
        }
        var sets: [Set<Int>] = []
        for (part, field) in zip(parts, Self.fields) {
            sets.append(try Self.parse(part, field))
        }
        self.expression = trimmed
        minutes = sets[0]
        hours = sets[1]
        daysOfMonth = sets[2]
        months = sets[3]
        // 7 is Sunday too.
        daysOfWeek = Set(sets[4].map { $0 == 7 ? 0 : $0 })
        dayOfMonthRestricted = parts[2] != "*"
        dayOfWeekRestricted = parts[4] != "*"
    }

    public var description: String { expression }

    private static func parse(_ text: String, _ field: Field) throws(ParseError) -> Set<Int> {
        var result = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = item.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, !pieces[0].isEmpty else {
                throw ParseError(message: "bad \(field.name) field '\(text)' in cron expression")
            }
            var step = 1
            if pieces.count == 2 {
                guard let value = Int(pieces[1]), value > 0 else {
                    throw ParseError(message: "bad step '\(pieces[1])' in \(field.name) field '\(text)'")
                }
                step = value
            }
            let lower: Int
            let upper: Int
            if pieces[0] == "*" {
                (lower, upper) = (field.range.lowerBound, field.range.upperBound)
            } else {
                let bounds = pieces[0].split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else {
                    throw ParseError(message: "bad range '\(pieces[0])' in \(field.name) field")
                }
                lower = try value(bounds[0], field)
                upper =
                    bounds.count == 2
                    ? try value(bounds[1], field) : (pieces.count == 2 ? field.range.upperBound : lower)
                guard lower <= upper else {
                    throw ParseError(message: "range '\(pieces[0])' in \(field.name) field runs backwards")
                }
            }
            result.formUnion(stride(from: lower, through: upper, by: step))
        }
        return result
    }

    private static func value(_ text: Substring, _ field: Field) throws(ParseError) -> Int {
        if let number = Int(text) {
            guard field.range.contains(number) else {
                throw ParseError(
                    message:
                        "\(field.name) \(number) is out of range \(field.range.lowerBound)-\(field.range.upperBound)")
            }
            return number
        }
        if let named = field.names[text.lowercased()] { return named }
        throw ParseError(message: "'\(text)' is not a valid \(field.name)")
    }

    /// The first time strictly after `date` that the schedule fires, in `timeZone`.
    ///
    /// Searches minute by minute over whole days that cannot match, so it is fast even
    /// for rare schedules; returns `nil` only for impossible ones such as `0 0 31 2 *`.
    public func nextFire(after date: Date, in timeZone: TimeZone = .gmt) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.dateInterval(of: .minute, for: date)?.end ?? date.addingTimeInterval(60)
        var day = calendar.startOfDay(for: start)
        // Five years covers every satisfiable expression (Feb 29 on a given weekday included).
        for _ in 0..<(366 * 5) {
            let parts = calendar.dateComponents([.month, .day, .weekday], from: day)
            if months.contains(parts.month!), matchesDay(dayOfMonth: parts.day!, weekday: parts.weekday! - 1) {
                for hour in hours.sorted() {
                    for minute in minutes.sorted() {
                        guard
                            let candidate = calendar.date(
                                bySettingHour: hour, minute: minute, second: 0, of: day)
                        else { continue }
                        if candidate >= start { return candidate }
                    }
                }
            }
            guard let next = calendar.date(byAdding: .day, value: 1, to: day) else { return nil }
            day = next
        }
        return nil
    }

    private func matchesDay(dayOfMonth: Int, weekday: Int) -> Bool {
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): daysOfMonth.contains(dayOfMonth) || daysOfWeek.contains(weekday)
        case (true, false): daysOfMonth.contains(dayOfMonth)
        case (false, true): daysOfWeek.contains(weekday)
        case (false, false): true
        }
    }
}

extension CronSchedule {
    /// Every time the schedule fires after `start`, up to and including `end`, oldest first
    /// (at most `limit`, the newest kept when there are more).
    public func fires(
        after start: Date, through end: Date, in timeZone: TimeZone = .gmt, limit: Int = 10_000
    )
        -> [Date]
    {
        var fires: [Date] = []
        var cursor = start
        while let next = nextFire(after: cursor, in: timeZone), next <= end {
            fires.append(next)
            if fires.count > limit { fires.removeFirst() }
            cursor = next
        }
        return fires
    }
}

/// What a scheduler does about the times a job should have run since it last did: after a
/// restart or an outage, the newest missed time within `window` runs once (late, when it is
/// more than `lateAfter` past); older ones are recorded as superseded or missed, never
/// silently dropped and never run twice.
public struct CatchUpPlan: Sendable, Equatable {
    /// The time to run now, and whether that is late.
    public var run: (at: Date, late: Bool)?
    /// Times replaced by the newer run.
    public var superseded: [Date]
    /// Times too old to run (outside the window).
    public var missed: [Date]

    public static func == (lhs: CatchUpPlan, rhs: CatchUpPlan) -> Bool {
        lhs.run?.at == rhs.run?.at && lhs.run?.late == rhs.run?.late && lhs.superseded == rhs.superseded
            && lhs.missed == rhs.missed
    }

    /// The plan for `schedule` in `timeZone`, for the times after `since` up to `now`.
    public init(
        schedule: CronSchedule, timeZone: TimeZone, since: Date, now: Date, window: TimeInterval,
        lateAfter: TimeInterval = 120
    ) {
        let due = schedule.fires(after: since, through: now, in: timeZone)
        run = nil
        superseded = []
        missed = []
        guard let newest = due.last else { return }
        if now.timeIntervalSince(newest) <= window {
            run = (newest, now.timeIntervalSince(newest) > lateAfter)
            superseded = Array(due.dropLast())
        } else {
            missed = due
        }
    }
}

public import Catalog
public import Foundation

/// Formats values for people: dates in the catalog's time zone, "3 hours ago",
/// durations, cron schedules in words.
public struct Formatter: Sendable {
    public var timeZone: TimeZone
    public var now: Date

    public init(timeZone: TimeZone = .gmt, now: Date = Date()) {
        self.timeZone = timeZone
        self.now = now
    }

    /// `2026-11-27 04:30 UTC`.
    public func dateTime(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        let abbreviation =
            ["GMT", "UTC"].contains(timeZone.identifier)
            ? "UTC" : (timeZone.abbreviation(for: date) ?? timeZone.identifier)
        return String(
            format: "%04d-%02d-%02d %02d:%02d %@", c.year!, c.month!, c.day!, c.hour!, c.minute!, abbreviation)
    }

    /// `just now`, `5 minutes ago`, `3 days ago`.
    public func ago(_ date: Date) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        if seconds < 60 { return seconds < -60 ? "in the future" : "just now" }
        let units: [(Int, String)] = [
            (86_400 * 365, "year"), (86_400 * 30, "month"), (86_400, "day"), (3600, "hour"), (60, "minute"),
        ]
        for (size, name) in units where seconds >= size {
            let count = seconds / size
            return "\(count) \(name)\(count == 1 ? "" : "s") ago"
        }
        return "just now"
    }

    /// "1 report", "2 reports"; `plural` defaults to the word plus "s".
    public static func count(_ count: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(count.formatted()) \(count == 1 ? singular : plural ?? singular + "s")"
    }

    public static func milliseconds(_ value: Int) -> String {
        value < 1000 ? "\(value) ms" : String(format: "%.1f s", Double(value) / 1000)
    }

    /// Describes a five-field cron expression in words for the common shapes; otherwise
    /// returns it as written.
    public static func cronText(_ expression: String, timeZone: String) -> String {
        let shorthands = [
            "@hourly": "every hour", "@daily": "daily at 00:00", "@midnight": "daily at 00:00",
            "@weekly": "Sundays at 00:00", "@monthly": "on the 1st of each month at 00:00",
            "@yearly": "every 1 January at 00:00", "@annually": "every 1 January at 00:00",
        ]
        if let text = shorthands[expression.lowercased()] { return "\(text) \(timeZone)" }
        let f = expression.split(separator: " ").map(String.init)
        guard f.count == 5, let minute = Int(f[0]) else { return "cron \(expression) (\(timeZone))" }
        if f[1] == "*", f[2] == "*", f[3] == "*", f[4] == "*" { return String(format: "hourly at :%02d", minute) }
        guard let hour = Int(f[1]) else { return "cron \(expression) (\(timeZone))" }
        let time = String(format: "%02d:%02d %@", hour, minute, timeZone)
        let days = [
            "0": "Sundays", "1": "Mondays", "2": "Tuesdays", "3": "Wednesdays", "4": "Thursdays", "5": "Fridays",
            "6": "Saturdays", "7": "Sundays", "mon": "Mondays", "tue": "Tuesdays", "wed": "Wednesdays",
            "thu": "Thursdays", "fri": "Fridays", "sat": "Saturdays", "sun": "Sundays",
        ]
        switch (f[2], f[3], f[4]) {
        case ("*", "*", "*"): return "daily at \(time)"
        case ("*", "*", "1-5"), ("*", "*", "mon-fri"): return "weekdays at \(time)"
        case ("*", "*", let day) where days[day.lowercased()] != nil: return "\(days[day.lowercased()]!) at \(time)"
        case (let day, "*", "*") where Int(day) != nil: return "monthly on day \(day) at \(time)"
        default: return "cron \(expression) (\(timeZone))"
        }
    }

    /// How a chart's significance band is computed, in words.
    public static func bandText(_ method: BandMethod) -> String {
        switch method {
        case .none: "none"
        case .poisson: "Poisson 95% interval"
        case .wilson: "Wilson score 95% interval"
        case .residual: "rolling residual band (±2σ)"
        }
    }
}

public import AlmanacCore
public import Foundation

/// Cuts timestamps into the company's days: a timestamp column holds UTC, and a day, week or
/// month is the catalog's `timezone`'s. Neither SQLite (no time zone database) nor Redshift
/// can convert by zone name, so the offsets come from here: for the span a query reads, the
/// zone's UTC offset is constant between daylight-saving changes, and the compiled SQL adds
/// the offset of the piece each row falls in. Range bounds are local midnights in UTC.
public struct LocalTime: Sendable {
    public let zone: TimeZone

    public init(zone: TimeZone) { self.zone = zone }

    /// The catalog's zone (UTC when the name is unknown, which the catalog check refuses).
    public init(identifier: String) { self.zone = TimeZone(identifier: identifier) ?? .gmt }

    /// UTC, with no daylight saving: timestamps are cut as they are stored.
    public var isUTC: Bool {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: 0)) == 0
            && zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: 0)) == nil
    }

    /// The instant local `day` begins (its first existing time, should midnight be skipped).
    public func start(of day: CalendarDay) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let (year, month, dayOfMonth) = day.components
        return calendar.date(from: DateComponents(year: year, month: month, day: dayOfMonth))
            ?? Date(timeIntervalSince1970: Double(day.dayNumber) * 86_400)
    }

    /// `start(of:)` as the text a UTC timestamp column compares with: `YYYY-MM-DD HH:MM:SS`.
    public func utcText(startOf day: CalendarDay) -> String { Self.utcText(start(of: day)) }

    /// The zone's offsets over `[from, to)`: each piece's offset in seconds and the instant it
    /// ends (`nil` for the last).
    public func offsets(from: Date, to: Date) -> [(until: Date?, seconds: Int)] {
        var pieces: [(until: Date?, seconds: Int)] = []
        var moment = from
        while let change = zone.nextDaylightSavingTimeTransition(after: moment), change < to {
            pieces.append((change, zone.secondsFromGMT(for: moment)))
            moment = change
        }
        pieces.append((nil, zone.secondsFromGMT(for: moment)))
        return pieces
    }

    /// The local day `date` falls on.
    public func day(of date: Date) -> CalendarDay {
        CalendarDay(
            dayNumber: Int(
                ((date.timeIntervalSince1970 + Double(zone.secondsFromGMT(for: date))) / 86_400).rounded(.down)))
    }

    static func utcText(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let day = CalendarDay(dayNumber: Int((Double(seconds) / 86_400).rounded(.down)))
        let ofDay = seconds - day.dayNumber * 86_400
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(day) \(two(ofDay / 3600)):\(two(ofDay % 3600 / 60)):\(two(ofDay % 60))"
    }
}

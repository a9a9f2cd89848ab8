/// Day numbers (days since 1970-01-01, UTC) and their civil dates, without Foundation.
///
/// The generator works on integer day numbers and seconds; these helpers turn them into the
/// `YYYY-MM-DD` and `YYYY-MM-DD HH:MM:SS` texts the warehouse stores.
enum CivilCalendar {
    /// The day number of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func dayNumber(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day number (Howard Hinnant's `civil_from_days`).
    static func civil(_ dayNumber: Int) -> (year: Int, month: Int, day: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// Day of the week, 0 = Sunday … 6 = Saturday.
    static func weekday(_ dayNumber: Int) -> Int {
        ((dayNumber + 4) % 7 + 7) % 7
    }

    /// Whether the day is a Saturday or a Sunday.
    static func isWeekend(_ dayNumber: Int) -> Bool {
        let w = weekday(dayNumber)
        return w == 0 || w == 6
    }

    /// The day number of the first day of the month that contains `dayNumber`.
    static func firstOfMonth(_ dayNumber: Int) -> Int {
        let c = civil(dayNumber)
        return self.dayNumber(year: c.year, month: c.month, day: 1)
    }

    /// The day number of the first day of the month after the one that contains `dayNumber`.
    static func firstOfNextMonth(_ dayNumber: Int) -> Int {
        let c = civil(dayNumber)
        return c.month == 12
            ? self.dayNumber(year: c.year + 1, month: 1, day: 1)
            : self.dayNumber(year: c.year, month: c.month + 1, day: 1)
    }

    /// Parses a strict `YYYY-MM-DD` date; `nil` when malformed or not a real date.
    static func parse(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        guard (1..<13).contains(month), day >= 1 else { return nil }
        let result = dayNumber(year: year, month: month, day: day)
        let check = civil(result)
        guard check.year == year, check.month == month, check.day == day else { return nil }
        return result
    }

    /// Writes `YYYY-MM-DD` for `dayNumber` into 10 bytes at `out`.
    static func writeDate(_ dayNumber: Int, to out: UnsafeMutablePointer<UInt8>) {
        let c = civil(dayNumber)
        writeDigits(c.year, count: 4, to: out)
        out[4] = UInt8(ascii: "-")
        writeDigits(c.month, count: 2, to: out + 5)
        out[7] = UInt8(ascii: "-")
        writeDigits(c.day, count: 2, to: out + 8)
    }

    /// Writes `HH:MM:SS` for a second of the day into 8 bytes at `out`.
    static func writeTime(_ secondOfDay: Int, to out: UnsafeMutablePointer<UInt8>) {
        writeDigits(secondOfDay / 3600, count: 2, to: out)
        out[2] = UInt8(ascii: ":")
        writeDigits(secondOfDay / 60 % 60, count: 2, to: out + 3)
        out[5] = UInt8(ascii: ":")
        writeDigits(secondOfDay % 60, count: 2, to: out + 6)
    }

    private static func writeDigits(_ value: Int, count: Int, to out: UnsafeMutablePointer<UInt8>) {
        var value = value
        for index in stride(from: count - 1, through: 0, by: -1) {
            out[index] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
        }
    }

    /// `YYYY-MM-DD` for a day number.
    static func dateString(_ dayNumber: Int) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 10) { buffer in
            writeDate(dayNumber, to: buffer.baseAddress!)
            return String(decoding: buffer, as: UTF8.self)
        }
    }

    /// `YYYY-MM-DD HH:MM:SS` for seconds since 1970-01-01 UTC.
    static func timestampString(_ seconds: Int) -> String {
        let day = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 19) { buffer in
            let base = buffer.baseAddress!
            writeDate(day, to: base)
            base[10] = UInt8(ascii: " ")
            writeTime(seconds - day * 86_400, to: base + 11)
            return String(decoding: buffer, as: UTF8.self)
        }
    }
}

/// A fixed launch, campaign or incident date of the Larkspur story.
enum Milestone {
    static let timelineView = CivilCalendar.dayNumber(year: 2025, month: 3, day: 11)
    static let mobile2 = CivilCalendar.dayNumber(year: 2025, month: 6, day: 17)
    static let referralProgramme = CivilCalendar.dayNumber(year: 2025, month: 9, day: 9)
    static let newPricing = CivilCalendar.dayNumber(year: 2026, month: 1, day: 20)
    static let newPricingBurstEnd = CivilCalendar.dayNumber(year: 2026, month: 3, day: 3)
    static let springTwitterStart = CivilCalendar.dayNumber(year: 2026, month: 4, day: 14)
    static let springTwitterEnd = CivilCalendar.dayNumber(year: 2026, month: 5, day: 12)
    static let syncOutage = CivilCalendar.dayNumber(year: 2026, month: 7, day: 7)
    static let appMarketplace = CivilCalendar.dayNumber(year: 2026, month: 9, day: 15)
    static let declineStart = CivilCalendar.dayNumber(year: 2026, month: 8, day: 1)
    static let umbrellaChurn = CivilCalendar.dayNumber(year: 2026, month: 11, day: 10)
}

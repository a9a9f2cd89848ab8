/// Values as text, the same way on every axis, tooltip and digest.
///
/// Formatting is done by hand rather than with `NumberFormatter` so that output does not
/// depend on the server's locale and is identical on every platform.
public enum NumberFormat {
    /// Formats `value` in `style`; `compact` abbreviates large values for axes.
    ///
    /// | style | full | compact |
    /// |---|---|---|
    /// | number | `12,345`, `3.14` | `12.3k`, `1.2M`, `3B` |
    /// | percent (fraction) | `25.0%` | `25%`, `2.5%` |
    /// | currency (USD) | `$12,345`, `$9.99` | `$12.3k` |
    /// | duration (seconds) | `4m 30s`, `2h 5m`, `3d 4h`, `350ms` | the same |
    ///
    /// Non-finite values read `–`.
    public static func format(_ value: Double, style: ValueStyle, compact: Bool) -> String {
        format(value, style: style, compact: compact, extraDecimals: 0)
    }

    /// Compact labels for axis ticks: as ``format(_:style:compact:)``, with as many more
    /// decimals as it takes for neighbouring ticks to read differently (`1k`, `1.05k`, `1.1k`).
    public static func tickLabels(_ values: [Double], style: ValueStyle) -> [String] {
        var labels: [String] = []
        for extra in 0...4 {
            labels = values.map { format($0, style: style, compact: true, extraDecimals: extra) }
            if Set(labels).count == Set(values).count { break }
        }
        return labels
    }

    static func format(_ value: Double, style: ValueStyle, compact: Bool, extraDecimals: Int) -> String {
        guard value.isFinite else { return "–" }
        switch style {
        case .number:
            return number(value, compact: compact, extra: extraDecimals)
        case .percent:
            let percent = value * 100
            let magnitude = abs(percent)
            if compact {
                let decimals = (magnitude < 1 && magnitude > 0 ? 2 : 1) + extraDecimals
                return trimmed(fixed(percent, decimals: decimals)) + "%"
            }
            return fixed(percent, decimals: magnitude < 1 && magnitude > 0 ? 2 : 1) + "%"
        case .currency:
            let sign = value < 0 ? "-" : ""
            let magnitude = abs(value)
            if compact && magnitude >= 1000 {
                return sign + "$" + number(magnitude, compact: true, extra: extraDecimals)
            }
            if magnitude >= 100 && extraDecimals == 0 { return sign + "$" + fixed(magnitude, decimals: 0) }
            // Cents are shown in full or not at all: "$2.50", never "$2.5".
            let cents = fixed(magnitude, decimals: 2)
            if compact && extraDecimals == 0 && cents.hasSuffix(".00") { return sign + "$" + String(cents.dropLast(3)) }
            return sign + "$" + cents
        case .duration:
            return duration(value)
        }
    }

    private static let suffixes = ["", "k", "M", "B", "T"]

    private static func number(_ value: Double, compact: Bool, extra: Int) -> String {
        let magnitude = abs(value)
        guard compact, magnitude >= 1000 else {
            return trimmed(fixed(value, decimals: defaultDecimals(magnitude) + extra))
        }
        var power = 0
        var scaled = magnitude
        while scaled >= 1000 && power < suffixes.count - 1 {
            scaled /= 1000
            power += 1
        }
        var text = trimmed(fixed(scaled, decimals: (scaled < 100 ? 1 : 0) + extra))
        // 999,950 rounds to "1,000k"; it reads "1M".
        if text == "1,000" && power < suffixes.count - 1 {
            power += 1
            text = "1"
        }
        return (value < 0 ? "-" : "") + text + suffixes[power]
    }

    /// Enough decimals for about three significant digits below 1,000, none above.
    private static func defaultDecimals(_ magnitude: Double) -> Int {
        if magnitude >= 1000 || magnitude == 0 { return 0 }
        if magnitude >= 10 { return 1 }
        if magnitude >= 1 { return 2 }
        return min(8, max(2, -magnitude.decimalExponent + 1))
    }

    private static func duration(_ seconds: Double) -> String {
        let sign = seconds < 0 ? "-" : ""
        let magnitude = abs(seconds)
        if magnitude == 0 { return "0s" }
        if magnitude < 1 { return sign + trimmed(fixed(magnitude * 1000, decimals: 0)) + "ms" }
        // Below 59.5s the value reads in seconds; from there it rounds to at least a minute.
        if magnitude < 59.5 {
            return sign + trimmed(fixed(magnitude, decimals: magnitude < 9.95 ? 1 : 0)) + "s"
        }
        // Round once to whole seconds so that 59.6s carries into the minute instead of reading "0m 60s".
        let total = Int(magnitude.rounded())
        let units: [(Int, String)] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")]
        guard let first = units.firstIndex(where: { total >= $0.0 }) else { return sign + "0s" }
        let (size, name) = units[first]
        let (nextSize, nextName) = units[first + 1]
        // Show two units, the second rounded: "2h 5m", not "2h 5m 12s".
        let nextCount = Int((Double(total % size) / Double(nextSize)).rounded())
        var major = total / size
        var minor = nextCount
        if minor * nextSize >= size {
            major += 1
            minor = 0
        }
        return sign + "\(major)\(name)" + (minor > 0 ? " \(minor)\(nextName)" : "")
    }

    /// `value` with exactly `decimals` decimals and thousands separators.
    static func fixed(_ value: Double, decimals: Int) -> String {
        let scale = Double.powerOfTen(decimals)
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return value < 0 ? "-\(abs(value))" : "\(value)" }
        let units = Int(scaled)
        let powerOfTen = Int(scale)
        let whole = units / powerOfTen
        let fraction = units % powerOfTen
        var text = grouped(whole)
        if decimals > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return (value < 0 && units != 0 ? "-" : "") + text
    }

    private static func grouped(_ whole: Int) -> String {
        let digits = Array(String(whole))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return text
    }

    /// Drops trailing zeros after the decimal point, and the point itself.
    private static func trimmed(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var result = Substring(text)
        while result.hasSuffix("0") { result = result.dropLast() }
        if result.hasSuffix(".") { result = result.dropLast() }
        return String(result)
    }
}

extension Double {
    static func powerOfTen(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<abs(exponent) { result *= 10 }
        return exponent < 0 ? 1 / result : result
    }

    /// ⌊log₁₀ |self|⌋ for a non-zero finite value, by repeated scaling (exact at powers of ten, where `log10` may not be).
    var decimalExponent: Int {
        var exponent = 0
        var scaled = abs(self)
        while scaled >= 10 {
            scaled /= 10
            exponent += 1
        }
        while scaled < 1 {
            scaled *= 10
            exponent -= 1
        }
        return exponent
    }
}

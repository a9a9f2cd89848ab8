import AlmanacCore
import Charts
import Testing

@Suite(.timeLimit(.minutes(10))) struct NumberFormatTests {
    @Test(arguments: [
        (12_345.0, "12,345", "12.3k"), (1_234_567.8, "1,234,568", "1.2M"), (999_950, "999,950", "1M"),
        (123_456, "123,456", "123k"), (2_500_000_000, "2,500,000,000", "2.5B"), (950, "950", "950"), (0, "0", "0"),
        (-1500, "-1,500", "-1.5k"), (3.14159, "3.14", "3.14"), (12.5, "12.5", "12.5"), (0.001234, "0.0012", "0.0012"),
    ])
    func numbers(value: Double, full: String, compact: String) {
        #expect(NumberFormat.format(value, style: .number, compact: false) == full)
        #expect(NumberFormat.format(value, style: .number, compact: true) == compact)
    }

    @Test func percents() {
        #expect(NumberFormat.format(0.25, style: .percent, compact: false) == "25.0%")
        #expect(NumberFormat.format(0.25, style: .percent, compact: true) == "25%")
        #expect(NumberFormat.format(0.025, style: .percent, compact: true) == "2.5%")
        #expect(NumberFormat.format(0.1234, style: .percent, compact: false) == "12.3%")
        #expect(NumberFormat.format(0.004, style: .percent, compact: false) == "0.40%")
    }

    @Test func currency() {
        #expect(NumberFormat.format(12_345, style: .currency, compact: false) == "$12,345")
        #expect(NumberFormat.format(12_345, style: .currency, compact: true) == "$12.3k")
        #expect(NumberFormat.format(9.99, style: .currency, compact: false) == "$9.99")
        #expect(NumberFormat.format(2.5, style: .currency, compact: true) == "$2.50")
        #expect(NumberFormat.format(20, style: .currency, compact: true) == "$20")
        #expect(NumberFormat.format(-1500, style: .currency, compact: true) == "-$1.5k")
    }

    @Test(arguments: [
        (270.0, "4m 30s"), (45, "45s"), (2.5, "2.5s"), (0.35, "350ms"), (7500, "2h 5m"), (273_600, "3d 4h"),
        (3599.6, "1h"), (59.6, "1m"), (0, "0s"), (3600, "1h"),
    ])
    func durations(seconds: Double, text: String) {
        #expect(NumberFormat.format(seconds, style: .duration, compact: false) == text)
    }

    @Test func nonFiniteAndTickLabels() {
        #expect(NumberFormat.format(.nan, style: .number, compact: true) == "–")
        #expect(NumberFormat.tickLabels([1000, 1050, 1100], style: .number) == ["1k", "1.05k", "1.1k"])
        #expect(NumberFormat.tickLabels([0, 500, 1000, 1500], style: .number) == ["0", "500", "1k", "1.5k"])
        #expect(NumberFormat.tickLabels([0, 0.05, 0.1], style: .percent) == ["0%", "5%", "10%"])
    }
}

@Suite(.timeLimit(.minutes(10))) struct AxisTickTests {
    @Test func niceNumbers() {
        #expect(AxisTicks.nice(min: 0, max: 97, count: 5) == [0, 20, 40, 60, 80, 100])
        #expect(AxisTicks.nice(min: 0.13, max: 0.87, count: 5) == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        #expect(AxisTicks.nice(min: -3, max: 7, count: 5) == [-4, -2, 0, 2, 4, 6, 8])
        #expect(AxisTicks.nice(min: 820, max: 1410, count: 5) == [800, 900, 1000, 1100, 1200, 1300, 1400, 1500])
        #expect(AxisTicks.nice(min: 0, max: 0, count: 5) == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        #expect(AxisTicks.nice(min: 5, max: 5, count: 6) == [0, 1, 2, 3, 4, 5])
        #expect(AxisTicks.nice(min: 0, max: .infinity, count: 5).isEmpty)
    }

    @Test func niceTicksCoverTheRangeWithOneTwoFiveSteps() {
        for (low, high) in [(0.0, 1.0), (3, 2_345_678), (-0.004, 0.019), (17, 18.3), (0, 99_999)] {
            let ticks = AxisTicks.nice(min: low, max: high, count: 5)
            #expect(ticks.first! <= low && ticks.last! >= high)
            #expect((4...12).contains(ticks.count), "\(ticks)")
            let step = ticks[1] - ticks[0]
            var mantissa = step
            while mantissa >= 10 { mantissa /= 10 }
            while mantissa < 1 { mantissa *= 10 }
            #expect([1, 2, 5].contains { abs(mantissa - $0) < 1e-9 }, "step \(step)")
            if low == 0 { #expect(ticks.first == 0) }
        }
    }

    @Test func durationTicksUseClockSteps() {
        #expect(AxisTicks.niceDurations(min: 0, max: 300, count: 5) == [0, 60, 120, 180, 240, 300])
        #expect(AxisTicks.niceDurations(min: 0, max: 290, count: 4) == [0, 120, 240, 360])
        #expect(AxisTicks.niceDurations(min: 3600, max: 5 * 3600, count: 5) == [3600, 7200, 10_800, 14_400, 18_000])
        #expect(AxisTicks.niceDurations(min: 0, max: 2.5, count: 5) == [0, 0.5, 1, 1.5, 2, 2.5])
        let labels = AxisTicks.niceDurations(min: 0, max: 290, count: 4).map {
            NumberFormat.format($0, style: .duration, compact: true)
        }
        #expect(labels == ["0s", "2m", "4m", "6m"])
    }

    private func labels(_ from: String, _ to: String, _ maxCount: Int) -> [String] {
        AxisTicks.dates(from: CalendarDay(parsing: from)!, through: CalendarDay(parsing: to)!, maxCount: maxCount)
            .map(\.label)
    }

    @Test func dateTicks() {
        #expect(
            labels("2025-01-06", "2025-07-04", 8) == [
                "Feb 2025", "Mar 2025", "Apr 2025", "May 2025", "Jun 2025", "Jul 2025",
            ])
        // 2025-03-03 is a Monday.
        #expect(labels("2025-03-01", "2025-03-20", 8) == ["Mar 3, 2025", "Mar 10", "Mar 17"])
        #expect(labels("2024-12-20", "2025-01-20", 6) == ["Dec 23, 2024", "Dec 30", "Jan 6, 2025", "Jan 13", "Jan 20"])
        #expect(
            labels("2024-01-01", "2025-12-31", 8) == [
                "Jan 2024", "Apr 2024", "Jul 2024", "Oct 2024", "Jan 2025", "Apr 2025", "Jul 2025", "Oct 2025",
            ])
        #expect(labels("2025-03-05", "2025-03-07", 8) == ["Mar 5, 2025", "Mar 6", "Mar 7"])
        #expect(labels("2015-01-01", "2025-06-30", 8) == ["2016", "2018", "2020", "2022", "2024"])
    }
}

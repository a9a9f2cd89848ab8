import Charts
import Testing

/// Asserts two optional arrays agree element by element within `tolerance`.
func expectClose(
    _ actual: [Double?], _ expected: [Double?], tolerance: Double = 1e-9,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, sourceLocation: sourceLocation)
    for (index, (got, want)) in zip(actual, expected).enumerated() {
        switch (got, want) {
        case (nil, nil): break
        case (let got?, let want?):
            #expect(abs(got - want) <= tolerance, "index \(index): \(got) ≠ \(want)", sourceLocation: sourceLocation)
        default:
            Issue.record(
                "index \(index): \(String(describing: got)) ≠ \(String(describing: want))",
                sourceLocation: sourceLocation)
        }
    }
}

@Suite(.timeLimit(.minutes(10))) struct MovingAverageTests {
    let values: [Double?] = [1, nil, 3, 4, nil, nil, 7, 8]

    @Test func trailingSkipsNilsAndNeedsHalfTheWindow() {
        // [1,–,3]→2, [–,3,4]→3.5, [3,4,–]→3.5, [4,–,–] and [–,–,7] hold one value of three → nil, [–,7,8]→7.5.
        expectClose(
            Analysis.movingAverage(values, window: 3, centered: false), [nil, nil, 2, 3.5, 3.5, nil, nil, 7.5])
    }

    @Test func centredOddWindowLosesHalfAWindowAtEachEnd() {
        expectClose(
            Analysis.movingAverage(values, window: 3, centered: true), [nil, 2, 3.5, 3.5, nil, nil, 7.5, nil])
    }

    @Test func centredEvenWindowLeansIntoThePast() {
        // Window 4 at i covers i-2 ... i+1.
        expectClose(
            Analysis.movingAverage([1, 2, 3, 4, 5, 6], window: 4, centered: true), [nil, nil, 2.5, 3.5, 4.5, nil])
    }

    @Test func trailingSevenDayOnAWeek() {
        let week: [Double?] = [7, 1, 1, 1, 1, 1, 2, 9]
        // (7+1+1+1+1+1+2)/7 = 2; (1+1+1+1+1+2+9)/7 = 16/7.
        expectClose(
            Analysis.movingAverage(week, window: 7, centered: false), [nil, nil, nil, nil, nil, nil, 2, 16.0 / 7])
    }

    @Test func degenerateWindows() {
        expectClose(Analysis.movingAverage(values, window: 1, centered: false), values)
        expectClose(Analysis.movingAverage([1, 2], window: 3, centered: false), [nil, nil])
        expectClose(Analysis.movingAverage([1, 2], window: 3, centered: true), [nil, nil])
        #expect(Analysis.movingAverage([], window: 7, centered: true).isEmpty)
    }
}

@Suite(.timeLimit(.minutes(10))) struct IntervalTests {
    @Test(arguments: [
        (0.0, 0.0, 3.688879), (1, 0.025318, 5.571643), (10, 4.795389, 18.390356), (100, 81.363991, 121.626794),
    ])
    func garwoodPoisson95(count: Double, lower: Double, upper: Double) {
        let interval = Analysis.poissonInterval(count: count, confidence: 0.95)
        #expect(abs(interval.lower - lower) < 1e-5)
        #expect(abs(interval.upper - upper) < 1e-5)
    }

    @Test func poissonLargeCountsAreNearTheNormalApproximation() {
        // For a million events, the interval is about ±1.96 × √n = ±1960.
        let interval = Analysis.poissonInterval(count: 1_000_000, confidence: 0.95)
        #expect(abs(interval.lower - (1_000_000 - 1960)) < 2)
        #expect(abs(interval.upper - (1_000_000 + 1960)) < 2)
        let mid = Analysis.poissonInterval(count: 50_000, confidence: 0.95)
        #expect(abs(mid.lower - (50_000 - 1.96 * 50_000.0.squareRoot())) < 2)
    }

    @Test func poissonEdgesOfConfidence() {
        #expect(Analysis.poissonInterval(count: 5, confidence: 0) == (5, 5))
        #expect(Analysis.poissonInterval(count: 5, confidence: 1).upper == .infinity)
        #expect(Analysis.poissonInterval(count: -3, confidence: 0.95).lower == 0)
    }

    @Test func poissonBandScalesTheWindowTotal() {
        // An average of 10/day over 10 days is 100 events: 81.364/10 ... 121.627/10.
        let band = Analysis.poissonBand(averages: [10, nil], window: 10, confidence: 0.95)
        expectClose(band.lower, [8.1363991, nil], tolerance: 1e-6)
        expectClose(band.upper, [12.1626794, nil], tolerance: 1e-6)
    }

    @Test func wilson() {
        let half = Analysis.wilsonInterval(successes: 50, trials: 100, confidence: 0.95)
        #expect(abs(half.lower - 0.403832) < 1e-5)
        #expect(abs(half.upper - 0.596168) < 1e-5)
        let none = Analysis.wilsonInterval(successes: 0, trials: 10, confidence: 0.95)
        #expect(none.lower == 0)
        #expect(abs(none.upper - 0.277540) < 1e-5)
        let all = Analysis.wilsonInterval(successes: 10, trials: 10, confidence: 0.95)
        #expect(abs(all.lower - 0.722460) < 1e-5)
        #expect(all.upper == 1)
        #expect(Analysis.wilsonInterval(successes: 0, trials: 0, confidence: 0.95) == (0, 1))
    }

    @Test func normalQuantiles() {
        #expect(abs(Analysis.zScore(confidence: 0.95) - 1.959964) < 1e-6)
        #expect(abs(Analysis.zScore(confidence: 0.99) - 2.575829) < 1e-6)
        #expect(abs(Analysis.normalQuantile(0.025) + 1.959964) < 1e-6)
        #expect(abs(Analysis.normalQuantile(0.5)) < 1e-12)
        // The tail branch of Acklam's algorithm: Φ⁻¹(0.001) = −3.090232.
        #expect(abs(Analysis.normalQuantile(0.001) + 3.090232) < 1e-6)
        #expect(abs(Analysis.chiSquareQuantile(0.95, degreesOfFreedom: 1) - 3.841459) < 1e-6)
    }
}

@Suite(.timeLimit(.minutes(10))) struct ResidualBandTests {
    @Test func byHand() {
        // Residuals 0, 1, −1, 1, 2. Sample SDs over trailing threes: 1, √(4/3), √(7/3).
        let band = Analysis.residualBand(
            values: [10, 12, 9, 11, 14], smoothed: [10, 11, 10, 10, 12], window: 3, k: 2)
        let spreads = [2.0, 2 * (4.0 / 3).squareRoot(), 2 * (7.0 / 3).squareRoot()]
        expectClose(band.lower, [nil, nil, 10 - spreads[0], 10 - spreads[1], 12 - spreads[2]])
        expectClose(band.upper, [nil, nil, 10 + spreads[0], 10 + spreads[1], 12 + spreads[2]])
        #expect(abs(band.upper[3]! - 12.309401) < 1e-6)
    }

    @Test func gapsNeedTwoResidualsAndASmoothedValue() {
        // Residuals 0, –, −1, –: at 2 the SD of {0, −1} is √0.5; at 3 there is no smoothed value.
        let band = Analysis.residualBand(values: [10, nil, 9, 11], smoothed: [10, 11, 10, nil], window: 3, k: 2)
        expectClose(band.lower, [nil, nil, 10 - 2 * 0.5.squareRoot(), nil])
        expectClose(band.upper, [nil, nil, 10 + 2 * 0.5.squareRoot(), nil])
        let sparse = Analysis.residualBand(values: [1, nil, nil], smoothed: [1, 1, 1], window: 3, k: 2)
        expectClose(sparse.upper, [nil, nil, nil])
    }
}

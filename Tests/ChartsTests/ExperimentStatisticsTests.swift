import Charts
import Testing

/// Expects `actual` to agree with `expected` to `digits` significant digits, read strictly: a relative error
/// of at most `0.5 × 10^−digits` (5e-5 for 4 digits). An `expected` of 0 has no relative scale, so there the
/// same bound is absolute.
func expectSignificant(
    _ actual: Double?, _ expected: Double, digits: Int = 4, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let actual else {
        Issue.record("nil ≠ \(expected)", sourceLocation: sourceLocation)
        return
    }
    var tolerance = 0.5
    for _ in 0..<digits { tolerance /= 10 }
    let error = expected == 0 ? abs(actual) : abs(actual - expected) / abs(expected)
    #expect(error <= tolerance, "\(actual) ≠ \(expected) to \(digits) digits", sourceLocation: sourceLocation)
}

// The reference values below come from this script (scipy 1.17.1):
//
//     import scipy.stats as st
//     from scipy.stats.contingency import relative_risk
//
//     def f(x): return repr(float(x))
//
//     # Comparisons: control conversions, exposures; treatment conversions, exposures; confidence.
//     for xc, nc, xt, nt, conf in [(200, 10_000, 250, 10_000, 0.95), (120, 1_000, 123, 1_000, 0.95),
//                                  (100_000, 1_000_000, 101_000, 1_000_000, 0.95), (45, 2_000, 30, 1_500, 0.95),
//                                  (200, 10_000, 250, 10_000, 0.90)]:
//         chi2, p, _, _ = st.chi2_contingency([[xt, nt - xt], [xc, nc - xc]], correction=False)
//         ci = relative_risk(xt, nt, xc, nc).confidence_interval(confidence_level=conf)
//         pc, pt = xc / nc, xt / nt
//         half = st.norm.ppf(0.5 + conf / 2) * (pt * (1 - pt) / nt + pc * (1 - pc) / nc) ** 0.5
//         print(xc, nc, xt, nt, conf, f(chi2), f(p))
//         print(f(pt - pc - half), f(pt - pc + half), f(ci.low - 1), f(ci.high - 1))
//     # No treatment conversions: the test still works, the lift interval does not.
//     chi2, p, _, _ = st.chi2_contingency([[0, 1000], [10, 990]], correction=False)
//     print(f(chi2), f(p))
//     # Sample ratio: observed exposures and configured shares.
//     for obs, shares in [([16, 18, 16, 14, 12, 12], None), ([50_000, 51_000], None), ([100_000, 102_000], None),
//                         ([10_000, 10_000, 20_500], [1, 1, 2])]:
//         exp = None if shares is None else [sum(obs) * s / sum(shares) for s in shares]
//         r = st.chisquare(obs, f_exp=exp)
//         print(obs, shares, f(r.statistic), f(r.pvalue))
//     for x, df in [(0.1, 1), (1, 1), (3.841458820694124, 1), (10, 2), (20, 5), (100, 1), (10, 30),
//                   (50, 60), (1000, 10), (1100, 1000), (700, 1)]:
//         print(x, df, f(st.chi2.sf(x, df)))
//     for z in [1.959963984540054, 3.0, -2.5, 10.0]:
//         print(z, f(2 * st.norm.sf(abs(z))))

/// One A/B comparison and scipy's answers for it.
struct ComparisonReference: Sendable, CustomTestStringConvertible {
    var control: ArmCounts
    var treatment: ArmCounts
    var confidence: Double
    /// `chi2_contingency(..., correction=False)`: the statistic and its p-value.
    var chiSquare: Double
    var pValue: Double
    /// The unpooled Wald interval, by hand with `norm.ppf`.
    var difference: (lower: Double, upper: Double)
    /// `relative_risk(...).confidence_interval(...)` minus 1.
    var lift: (lower: Double, upper: Double)

    var testDescription: String {
        let arms = [control, treatment].map { "\($0.conversions)/\($0.exposures)" }
        return "\(arms[0]) vs \(arms[1]) at \(confidence)"
    }

    static let all = [
        // Significant: 2.0 % → 2.5 %.
        ComparisonReference(
            control: ArmCounts(name: "control", exposures: 10_000, conversions: 200),
            treatment: ArmCounts(name: "treatment", exposures: 10_000, conversions: 250), confidence: 0.95,
            chiSquare: 5.683432793407218, pValue: 0.017125828872195024,
            difference: (0.0008899129980008439, 0.009110087001999157),
            lift: (0.04006439767618408, 0.5023108218020862)),
        // Null: 12.0 % → 12.3 %.
        ComparisonReference(
            control: ArmCounts(exposures: 1_000, conversions: 120),
            treatment: ArmCounts(exposures: 1_000, conversions: 123), confidence: 0.95,
            chiSquare: 0.04215940470920551, pValue: 0.8373162171425585,
            difference: (-0.025636341524580185, 0.03163634152458019),
            lift: (-0.19024243073156055, 0.2974562262495033)),
        // Large N: a 1 % lift is significant with a million exposures per arm.
        ComparisonReference(
            control: ArmCounts(exposures: 1_000_000, conversions: 100_000),
            treatment: ArmCounts(exposures: 1_000_000, conversions: 101_000), confidence: 0.95,
            chiSquare: 5.530988747203393, pValue: 0.01868254491261725,
            difference: (0.0001666141869921977, 0.0018333858130078042),
            lift: (0.0016591840681761116, 0.018410269905306142)),
        // Unequal arms, treatment worse: the z-score is negative.
        ComparisonReference(
            control: ArmCounts(exposures: 2_000, conversions: 45),
            treatment: ArmCounts(exposures: 1_500, conversions: 30), confidence: 0.95,
            chiSquare: 0.25547445255474505, pValue: 0.6132464550193235,
            difference: (-0.01211452569774283, 0.007114525697742832),
            lift: (-0.43722455051233056, 0.4039764128115815)),
        // The first case at 90 %: narrower intervals, the same test.
        ComparisonReference(
            control: ArmCounts(exposures: 10_000, conversions: 200),
            treatment: ArmCounts(exposures: 10_000, conversions: 250), confidence: 0.90,
            chiSquare: 5.683432793407218, pValue: 0.017125828872195024,
            difference: (0.0015507062549871787, 0.008449293745012822),
            lift: (0.07126758245831377, 0.45855249013922394)),
    ]
}

@Suite(.timeLimit(.minutes(10))) struct ComparisonTests {
    @Test(arguments: ComparisonReference.all)
    func matchesScipy(reference: ComparisonReference) throws {
        let result = try #require(
            ExperimentStatistics.compare(
                control: reference.control, treatment: reference.treatment, confidence: reference.confidence))
        let pc = try #require(reference.control.rate)
        let pt = try #require(reference.treatment.rate)
        expectSignificant(result.difference, pt - pc)
        expectSignificant(result.lift, pt / pc - 1)
        // The pooled z-test is Pearson's chi-square test of the 2×2 table without continuity correction.
        expectSignificant(result.zScore * result.zScore, reference.chiSquare)
        #expect((result.zScore > 0) == (pt > pc))
        expectSignificant(result.pValue, reference.pValue)
        expectSignificant(result.differenceLower, reference.difference.lower)
        expectSignificant(result.differenceUpper, reference.difference.upper)
        expectSignificant(result.liftLower, reference.lift.lower)
        expectSignificant(result.liftUpper, reference.lift.upper)
    }

    @Test func defaultConfidenceIs95() {
        let control = ArmCounts(exposures: 10_000, conversions: 200)
        let treatment = ArmCounts(exposures: 10_000, conversions: 250)
        #expect(
            ExperimentStatistics.compare(control: control, treatment: treatment)
                == ExperimentStatistics.compare(control: control, treatment: treatment, confidence: 0.95))
    }

    @Test func noExposuresOrInvalidCountsGiveNil() {
        let arm = ArmCounts(exposures: 1_000, conversions: 10)
        let empty = ArmCounts(exposures: 0, conversions: 0)
        #expect(empty.rate == nil)
        #expect(ExperimentStatistics.compare(control: empty, treatment: arm) == nil)
        #expect(ExperimentStatistics.compare(control: arm, treatment: empty) == nil)
        let impossible = ArmCounts(exposures: 10, conversions: 11)
        #expect(ExperimentStatistics.compare(control: arm, treatment: impossible) == nil)
        #expect(ExperimentStatistics.compare(control: arm, treatment: arm, confidence: 1) == nil)
        #expect(ExperimentStatistics.compare(control: arm, treatment: arm, confidence: 0) == nil)
    }

    @Test func noControlConversionsLeavesTheLiftUndefined() {
        let control = ArmCounts(exposures: 1_000, conversions: 0)
        let treatment = ArmCounts(exposures: 1_000, conversions: 10)
        #expect(ExperimentStatistics.compare(control: control, treatment: treatment) == nil)
    }

    @Test func noTreatmentConversionsGiveAnUninformativeLiftInterval() throws {
        let control = ArmCounts(exposures: 1_000, conversions: 10)
        let treatment = ArmCounts(exposures: 1_000, conversions: 0)
        let result = try #require(ExperimentStatistics.compare(control: control, treatment: treatment))
        #expect(result.lift == -1)
        #expect(result.liftLower == -1)
        #expect(result.liftUpper == .infinity)
        expectSignificant(result.zScore * result.zScore, 10.050251256281406)
        expectSignificant(result.pValue, 0.0015232716476467957)
    }

    @Test func everyoneConvertingIsNoEvidence() throws {
        let arm = ArmCounts(exposures: 500, conversions: 500)
        let result = try #require(ExperimentStatistics.compare(control: arm, treatment: arm))
        #expect(result.zScore == 0)
        #expect(result.pValue == 1)
        #expect(result.differenceLower == 0 && result.differenceUpper == 0)
    }
}

@Suite(.timeLimit(.minutes(10))) struct SampleRatioTests {
    @Test func scipyDocumentationExample() throws {
        let check = try #require(ExperimentStatistics.sampleRatio(exposures: [16, 18, 16, 14, 12, 12]))
        expectSignificant(check.chiSquare, 2.0)
        expectSignificant(check.pValue, 0.84914503608460956)
        #expect(check.degreesOfFreedom == 5)
        #expect(check.expected == Array(repeating: 88.0 / 6, count: 6))
        #expect(!check.mismatch())
    }

    @Test func twoArmMismatch() throws {
        // 1 % off a 50/50 split at 100,000 users: suspicious, but not below the strict default alpha.
        let borderline = try #require(ExperimentStatistics.sampleRatio(exposures: [50_000, 51_000]))
        expectSignificant(borderline.chiSquare, 9.900990099009901)
        expectSignificant(borderline.pValue, 0.001651898732357361)
        #expect(!borderline.mismatch())
        #expect(borderline.mismatch(alpha: 0.01))
        let clear = try #require(ExperimentStatistics.sampleRatio(exposures: [100_000, 102_000]))
        expectSignificant(clear.chiSquare, 19.801980198019802)
        expectSignificant(clear.pValue, 8.58936448921482e-06)
        #expect(clear.mismatch())
    }

    @Test func unequalSharesNeedNotSumToOne() throws {
        let check = try #require(
            ExperimentStatistics.sampleRatio(exposures: [10_000, 10_000, 20_500], expectedShares: [1, 1, 2]))
        #expect(check.expected == [10_125, 10_125, 20_250])
        expectSignificant(check.chiSquare, 6.172839506172839)
        expectSignificant(check.pValue, 0.04566515461063025)
        #expect(check.degreesOfFreedom == 2)
        #expect(
            ExperimentStatistics.sampleRatio(exposures: [10_000, 10_000, 20_500], expectedShares: [0.25, 0.25, 0.5])
                == check)
    }

    @Test func degenerateInputsGiveNil() {
        #expect(ExperimentStatistics.sampleRatio(exposures: [100]) == nil)
        #expect(ExperimentStatistics.sampleRatio(exposures: [0, 0]) == nil)
        #expect(ExperimentStatistics.sampleRatio(exposures: [10, -1]) == nil)
        #expect(ExperimentStatistics.sampleRatio(exposures: [10, 10], expectedShares: [1]) == nil)
        #expect(ExperimentStatistics.sampleRatio(exposures: [10, 10], expectedShares: [1, 0]) == nil)
    }
}

@Suite(.timeLimit(.minutes(10))) struct TailProbabilityTests {
    /// `chi2.sf(x, df)`, including tails where `1 − P` would have cancelled to 0.
    @Test(
        arguments: [
            (0.1, 1, 0.7518296340458492), (1, 1, 0.31731050786291115), (3.841458820694124, 1, 0.04999999999999989),
            (10, 2, 0.006737946999085468), (20, 5, 0.0012497305630313773), (100, 1, 1.5239706048320995e-23),
            (10, 30, 0.9997737463238232), (50, 60, 0.8178960840225449), (1000, 10, 1.870290720915977e-208),
            (1100, 1000, 0.014614408126295192), (700, 1, 2.990226975124623e-154),
        ] as [(Double, Int, Double)])
    func chiSquareSurvival(x: Double, degreesOfFreedom: Int, expected: Double) {
        expectSignificant(ExperimentStatistics.chiSquareSurvival(x, degreesOfFreedom: degreesOfFreedom), expected)
    }

    @Test func chiSquareSurvivalEdges() {
        #expect(ExperimentStatistics.chiSquareSurvival(0, degreesOfFreedom: 3) == 1)
        #expect(ExperimentStatistics.chiSquareSurvival(-1, degreesOfFreedom: 3) == 1)
        #expect(ExperimentStatistics.chiSquareSurvival(.infinity, degreesOfFreedom: 3) == 0)
        #expect(ExperimentStatistics.chiSquareSurvival(1, degreesOfFreedom: 0).isNaN)
    }

    /// `2 * norm.sf(abs(z))`.
    @Test(
        arguments: [
            (1.959963984540054, 0.05), (3.0, 0.0026997960632601866), (-2.5, 0.012419330651552265),
            (10.0, 1.523970604832094e-23), (0, 1),
        ] as [(Double, Double)])
    func twoSidedPValue(z: Double, expected: Double) {
        expectSignificant(ExperimentStatistics.twoSidedPValue(z: z), expected)
    }
}

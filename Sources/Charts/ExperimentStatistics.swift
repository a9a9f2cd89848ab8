import Foundation

/// Exposures and conversions of one arm of an experiment.
public struct ArmCounts: Hashable, Sendable {
    /// The arm's label, such as "control" or "treatment".
    public var name: String
    /// Units (users, sessions) assigned to the arm.
    public var exposures: Int
    /// Exposed units that converted.
    public var conversions: Int

    public init(name: String = "", exposures: Int, conversions: Int) {
        self.name = name
        self.exposures = exposures
        self.conversions = conversions
    }

    /// `conversions / exposures`, or `nil` without exposures.
    public var rate: Double? {
        exposures > 0 ? Double(conversions) / Double(exposures) : nil
    }
}

/// Significance and effect sizes for A/B tests on conversion rates, with no dependencies beyond the C math library.
public enum ExperimentStatistics {
    /// Treatment against control: effect sizes with confidence intervals, and the pooled z-test.
    public struct Comparison: Hashable, Sendable {
        /// The absolute difference of the rates, `pt − pc`.
        public var difference: Double
        /// The lower edge of the unpooled Wald interval for ``difference``.
        public var differenceLower: Double
        /// The upper edge of the unpooled Wald interval for ``difference``.
        public var differenceUpper: Double
        /// The relative difference of the rates, `pt / pc − 1`.
        public var lift: Double
        /// The lower edge of the Katz (log relative risk) interval for ``lift``.
        public var liftLower: Double
        /// The upper edge of the Katz (log relative risk) interval for ``lift``.
        public var liftUpper: Double
        /// The two-proportion z statistic with the pooled rate in the standard error.
        public var zScore: Double
        /// The two-sided p-value of ``zScore``; the same as Pearson's chi-square test of the 2×2 table
        /// without continuity correction, whose statistic is `zScore²`.
        public var pValue: Double
    }

    /// Compares the conversion rate of `treatment` with that of `control`.
    ///
    /// - The difference interval is the unpooled Wald interval
    ///   `pt − pc ± z √(pt(1 − pt)/nt + pc(1 − pc)/nc)`.
    /// - The lift interval is Katz's interval for the relative risk `RR = pt / pc`,
    ///   `RR × exp(±z √(1/xt − 1/nt + 1/xc − 1/nc))`, minus 1. It is not symmetric around the lift,
    ///   because ratios are closer to normal on the log scale.
    /// - The test is the pooled two-proportion z-test, as the null hypothesis is that both rates are equal.
    ///
    /// Returns `nil` when an arm has no exposures, a count is negative or conversions exceed exposures,
    /// `confidence` is outside `0 < confidence < 1`, or the control has no conversions (the lift is then
    /// undefined). When the treatment has no conversions the lift is −1 and its interval is the
    /// uninformative `−1 ... +∞` (the log standard error is infinite). When every unit in both arms
    /// converted there is no variance to test against, and the z-score is 0 with a p-value of 1.
    public static func compare(
        control: ArmCounts, treatment: ArmCounts, confidence: Double = 0.95
    ) -> Comparison? {
        guard confidence > 0, confidence < 1 else { return nil }
        for arm in [control, treatment] {
            guard arm.exposures > 0, arm.conversions >= 0, arm.conversions <= arm.exposures else { return nil }
        }
        guard control.conversions > 0 else { return nil }
        let nc = Double(control.exposures)
        let nt = Double(treatment.exposures)
        let xc = Double(control.conversions)
        let xt = Double(treatment.conversions)
        let pc = xc / nc
        let pt = xt / nt
        let z = Analysis.zScore(confidence: confidence)

        let difference = pt - pc
        let waldError = (pt * (1 - pt) / nt + pc * (1 - pc) / nc).squareRoot()

        let relativeRisk = pt / pc
        // 1/x − 1/n, written as (n − x)/(x n) so no rounding is lost when x is close to n.
        let logError = ((nt - xt) / (xt * nt) + (nc - xc) / (xc * nc)).squareRoot()
        let liftLower = xt > 0 ? relativeRisk * exp(-z * logError) - 1 : -1
        let liftUpper = xt > 0 ? relativeRisk * exp(z * logError) - 1 : .infinity

        let pooled = (xt + xc) / (nt + nc)
        let pooledError = (pooled * (1 - pooled) * (1 / nt + 1 / nc)).squareRoot()
        let zScore = pooledError > 0 ? difference / pooledError : 0

        return Comparison(
            difference: difference, differenceLower: difference - z * waldError,
            differenceUpper: difference + z * waldError, lift: relativeRisk - 1, liftLower: liftLower,
            liftUpper: liftUpper, zScore: zScore, pValue: twoSidedPValue(z: zScore))
    }

    /// A sample-ratio-mismatch check: Pearson's chi-square goodness of fit of the exposures against the
    /// split the experiment was configured with.
    ///
    /// A mismatch means assignment or logging is broken, so the comparison of the arms cannot be trusted.
    public struct SampleRatioCheck: Hashable, Sendable {
        /// `Σ (observed − expected)² / expected`.
        public var chiSquare: Double
        /// The number of arms minus one.
        public var degreesOfFreedom: Int
        /// The probability of a chi-square at least this large if the split were as configured.
        public var pValue: Double
        /// The exposures each arm should have had, in the order of the input.
        public var expected: [Double]

        /// Whether ``pValue`` is below `alpha`. The default is strict because the check runs on every
        /// experiment, often many times, and a false alarm discards a valid experiment.
        public func mismatch(alpha: Double = 0.001) -> Bool {
            pValue < alpha
        }
    }

    /// Checks the exposures of each arm against `expectedShares`, the configured traffic split.
    ///
    /// The shares need not sum to 1 (`[1, 1, 2]` means 25 %, 25 %, 50 %); `nil` means an equal split.
    /// Returns `nil` for fewer than two arms, a negative count, no exposures at all, or shares that are
    /// not positive and finite or whose count differs from the arms'.
    public static func sampleRatio(exposures: [Int], expectedShares: [Double]? = nil) -> SampleRatioCheck? {
        guard exposures.count >= 2, exposures.allSatisfy({ $0 >= 0 }) else { return nil }
        let shares = expectedShares ?? Array(repeating: 1, count: exposures.count)
        guard shares.count == exposures.count, shares.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        let total = Double(exposures.reduce(0, +))
        guard total > 0 else { return nil }
        let shareSum = shares.reduce(0, +)
        let expected = shares.map { total * $0 / shareSum }
        var chiSquare = 0.0
        for (observed, expectation) in zip(exposures, expected) {
            let deviation = Double(observed) - expectation
            chiSquare += deviation * deviation / expectation
        }
        let degreesOfFreedom = exposures.count - 1
        return SampleRatioCheck(
            chiSquare: chiSquare, degreesOfFreedom: degreesOfFreedom,
            pValue: chiSquareSurvival(chiSquare, degreesOfFreedom: degreesOfFreedom), expected: expected)
    }

    /// The upper tail of the chi-square distribution, `Q(df/2, x/2) = 1 − P(df/2, x/2)`.
    ///
    /// Accurate to about 1e-12 relative even far in the tail (`x = 100, df = 1` gives 1.5e-23), because
    /// the tail is computed directly rather than as `1 − P`. `x ≤ 0` gives 1; `degreesOfFreedom < 1`
    /// or a NaN `x` gives NaN.
    public static func chiSquareSurvival(_ x: Double, degreesOfFreedom: Int) -> Double {
        guard degreesOfFreedom >= 1, !x.isNaN else { return .nan }
        return regularizedGammaQ(a: Double(degreesOfFreedom) / 2, x: x / 2)
    }

    /// The two-sided p-value `P(|Z| ≥ |z|)` of a standard normal `z`.
    ///
    /// `erfc(|z|/√2)` keeps full relative precision in the tail, where `2(1 − Φ(|z|))` would round to 0.
    public static func twoSidedPValue(z: Double) -> Double {
        erfc(abs(z) / 2.0.squareRoot())
    }

    // MARK: - Upper incomplete gamma

    /// Q(a, x) = 1 − P(a, x), the regularized upper incomplete gamma function.
    static func regularizedGammaQ(a: Double, x: Double) -> Double {
        guard x > 0 else { return 1 }
        guard x.isFinite else { return 0 }
        // Below a + 1, Q is not small, so 1 − P loses nothing; above it, Q can be tiny and needs its own
        // continued fraction (Numerical Recipes §6.2).
        return x < a + 1 ? 1 - Analysis.regularizedGammaP(a: a, x: x) : Analysis.gammaContinuedFraction(a: a, x: x)
    }
}

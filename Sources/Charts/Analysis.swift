import Foundation

/// Smoothing and significance for daily metrics, with no dependencies beyond the C math library.
public enum Analysis {
    /// A moving average of `values` over `window` points.
    ///
    /// The window for point `i` is `i - window + 1 ... i` when trailing, and
    /// `i - window / 2 ... i + (window - 1) / 2` when centred (an even window leans one point
    /// into the past). Edge rule: a point whose window does not fit inside the series is `nil`,
    /// so a trailing average starts at index `window - 1` and a centred one loses `window / 2`
    /// points at the start and `(window - 1) / 2` at the end; a partial window would bend the
    /// line at the edges, where readers look first. `nil` (and non-finite) inputs are skipped:
    /// the average is over the values present, and is `nil` when fewer than half the window
    /// (rounded up) is present, because an average of one or two days is not a trend.
    /// A `window` of 1 or less returns the input.
    public static func movingAverage(_ values: [Double?], window: Int, centered: Bool) -> [Double?] {
        guard window > 1 else { return values }
        let before = centered ? window / 2 : window - 1
        let after = centered ? (window - 1) / 2 : 0
        let minimumPresent = (window + 1) / 2
        var result = [Double?](repeating: nil, count: values.count)
        guard values.count >= window else { return result }
        for index in before..<(values.count - after) {
            var sum = 0.0
            var present = 0
            // Summing each window afresh keeps every result exact to its own inputs (no running-sum drift).
            for value in values[(index - before)...(index + after)] {
                if let value, value.isFinite {
                    sum += value
                    present += 1
                }
            }
            if present >= minimumPresent { result[index] = sum / Double(present) }
        }
        return result
    }

    /// The exact (Garwood) confidence interval for the mean of a Poisson count.
    ///
    /// `lower = χ²(α/2; 2k) / 2` and `upper = χ²(1 − α/2; 2k + 2) / 2` with `α = 1 − confidence`,
    /// computed as inverse regularized gamma functions (`χ²(p; 2a) / 2 = P⁻¹(a, p)`); the lower
    /// bound of a zero count is 0. Counts above 100,000 use the Wilson–Hilferty approximation,
    /// whose relative error there is below 1e-7. A negative count is treated as 0; a
    /// `confidence` of 0 or less gives `(count, count)`, of 1 or more `(0, ∞)`.
    public static func poissonInterval(count: Double, confidence: Double) -> (lower: Double, upper: Double) {
        let k = count.isFinite ? max(0, count) : 0
        guard confidence > 0 else { return (k, k) }
        guard confidence < 1 else { return (0, .infinity) }
        let alpha = 1 - confidence
        let lower = k > 0 ? inverseRegularizedGammaP(a: k, p: alpha / 2) : 0
        let upper = inverseRegularizedGammaP(a: k + 1, p: 1 - alpha / 2)
        return (lower, upper)
    }

    /// A band for a moving average of counts: the Poisson interval of the window's total,
    /// divided back by `window`.
    ///
    /// Each average `m` stands for `m × window` events over the window; pass `window: 1` for
    /// raw daily counts. `nil` averages give `nil` edges.
    public static func poissonBand(
        averages: [Double?], window: Int, confidence: Double
    ) -> (
        lower: [Double?], upper: [Double?]
    ) {
        let size = Double(max(1, window))
        var lower: [Double?] = []
        var upper: [Double?] = []
        for average in averages {
            guard let average, average.isFinite else {
                lower.append(nil)
                upper.append(nil)
                continue
            }
            let interval = poissonInterval(count: average * size, confidence: confidence)
            lower.append(interval.lower / size)
            upper.append(interval.upper / size)
        }
        return (lower, upper)
    }

    /// The Wilson score interval for the proportion `successes / trials`.
    ///
    /// Unlike the normal approximation it stays inside 0...1 and is sensible at 0 and at
    /// `trials`. No trials (or non-finite input) gives the uninformative `(0, 1)`.
    public static func wilsonInterval(
        successes: Double, trials: Double, confidence: Double
    ) -> (
        lower: Double, upper: Double
    ) {
        guard trials > 0, trials.isFinite, successes.isFinite else { return (0, 1) }
        let p = min(max(successes / trials, 0), 1)
        let z = zScore(confidence: confidence)
        let z2 = z * z
        let denominator = 1 + z2 / trials
        let centre = (p + z2 / (2 * trials)) / denominator
        let half = z / denominator * (p * (1 - p) / trials + z2 / (4 * trials * trials)).squareRoot()
        // At p = 0 or 1 one edge is exactly 0 or 1 in theory; clamping removes rounding residue.
        let lower = p == 0 ? 0 : max(0, centre - half)
        let upper = p == 1 ? 1 : min(1, centre + half)
        return (lower, upper)
    }

    /// A band of `smoothed ± k × s`, where `s` is the sample standard deviation (n − 1) of the
    /// residuals `value − smoothed` over the trailing `window` points.
    ///
    /// Edge rule: point `i` uses the residuals at `i - window + 1 ... i`, is `nil` until that
    /// window fits inside the series, and is `nil` when the smoothed value at `i` is missing or
    /// fewer than two residuals in the window exist (a residual needs both a value and a smoothed
    /// value). The arrays are aligned by index; the shorter one decides the length.
    public static func residualBand(
        values: [Double?], smoothed: [Double?], window: Int, k: Double
    ) -> (
        lower: [Double?], upper: [Double?]
    ) {
        let count = min(values.count, smoothed.count)
        let residuals: [Double?] = (0..<count).map { index in
            guard let value = values[index], let centre = smoothed[index], value.isFinite, centre.isFinite else {
                return nil
            }
            return value - centre
        }
        let size = max(1, window)
        var lower = [Double?](repeating: nil, count: count)
        var upper = [Double?](repeating: nil, count: count)
        guard count >= size else { return (lower, upper) }
        for index in (size - 1)..<count {
            guard let centre = smoothed[index], centre.isFinite else { continue }
            let present = residuals[(index - size + 1)...index].compactMap { $0 }
            guard present.count >= 2 else { continue }
            let mean = present.reduce(0, +) / Double(present.count)
            let variance = present.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(present.count - 1)
            let spread = k * variance.squareRoot()
            lower[index] = centre - spread
            upper[index] = centre + spread
        }
        return (lower, upper)
    }

    /// The two-sided critical value of the standard normal distribution: 0.95 gives 1.959964.
    public static func zScore(confidence: Double) -> Double {
        normalQuantile(0.5 + confidence / 2)
    }

    /// The inverse of the standard normal CDF (Acklam's algorithm, refined by one Halley step
    /// to full double precision). 0 and 1 give −∞ and +∞.
    public static func normalQuantile(_ p: Double) -> Double {
        guard p > 0 else { return -.infinity }
        guard p < 1 else { return .infinity }
        let a = [
            -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
            -3.066479806614716e+01, 2.506628277459239e+00,
        ]
        let b = [
            -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
            -1.328068155288572e+01,
        ]
        let c = [
            -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
            4.374664141464968e+00, 2.938163982698783e+00,
        ]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x =
                (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5
            let r = q * q
            x =
                (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x =
                -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        // Acklam's rational approximation is good to 1.15e-9; one Halley step on erfc makes it exact.
        let error = 0.5 * erfc(-x / 2.0.squareRoot()) - p
        let u = error * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }

    /// The `p` quantile of the chi-square distribution with `degreesOfFreedom` degrees of freedom.
    public static func chiSquareQuantile(_ p: Double, degreesOfFreedom: Double) -> Double {
        2 * inverseRegularizedGammaP(a: degreesOfFreedom / 2, p: p)
    }

    // MARK: - Incomplete gamma

    /// P(a, x), the regularized lower incomplete gamma function.
    static func regularizedGammaP(a: Double, x: Double) -> Double {
        guard x > 0 else { return 0 }
        // The series converges fast below a + 1, the continued fraction above (Numerical Recipes §6.2).
        return x < a + 1 ? gammaSeries(a: a, x: x) : 1 - gammaContinuedFraction(a: a, x: x)
    }

    /// ln Γ(a); the annotation picks the C function out of the overloads Foundation also offers.
    private static func logGamma(_ a: Double) -> Double {
        let value: Double = lgamma(a)
        return value
    }

    private static func maximumIterations(_ a: Double) -> Int { 1000 + Int(20 * a.squareRoot()) }

    private static func gammaSeries(a: Double, x: Double) -> Double {
        var term = 1 / a
        var sum = term
        var denominator = a
        for _ in 0..<maximumIterations(a) {
            denominator += 1
            term *= x / denominator
            sum += term
            if abs(term) < abs(sum) * 1e-16 { break }
        }
        return sum * exp(-x + a * log(x) - logGamma(a))
    }

    /// Q(a, x) by the modified Lentz method (accurate where x ≥ a + 1, also deep in the tail).
    static func gammaContinuedFraction(a: Double, x: Double) -> Double {
        let tiny = Double.leastNormalMagnitude / Double.ulpOfOne
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1...maximumIterations(a) {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return exp(-x + a * log(x) - logGamma(a)) * h
    }

    /// The x with P(a, x) = p: Numerical Recipes' starting guess, then Halley's method.
    static func inverseRegularizedGammaP(a: Double, p: Double) -> Double {
        guard p > 0, a > 0 else { return 0 }
        guard p < 1 else { return .infinity }
        if a > 100_000 {
            // Wilson–Hilferty: the cube root of a gamma variable is nearly normal for large shapes.
            let z = normalQuantile(p)
            let cube = 1 - 1 / (9 * a) + z / (3 * a.squareRoot())
            return a * cube * cube * cube
        }
        let a1 = a - 1
        let logGammaA = logGamma(a)
        let logA1 = a > 1 ? log(a1) : 0
        let factor = a > 1 ? exp(a1 * (logA1 - 1) - logGammaA) : 0
        var x: Double
        if a > 1 {
            let pp = p < 0.5 ? p : 1 - p
            let t = (-2 * log(pp)).squareRoot()
            var guess = (2.30753 + t * 0.27061) / (1 + t * (0.99229 + t * 0.04481)) - t
            if p < 0.5 { guess = -guess }
            x = max(1e-3, a * pow(1 - 1 / (9 * a) - guess / (3 * a.squareRoot()), 3))
        } else {
            let t = 1 - a * (0.253 + a * 0.12)
            x = p < t ? pow(p / t, 1 / a) : 1 - log(1 - (p - t) / (1 - t))
        }
        for _ in 0..<100 {
            if x <= 0 { return 0 }
            let error = regularizedGammaP(a: a, x: x) - p
            // The density of the gamma distribution at x, scaled to avoid overflow for large a.
            let density = a > 1 ? exp(-(x - a1) + a1 * (log(x) - logA1)) * factor : exp(-x + a1 * log(x) - logGammaA)
            guard density > 0 else { break }
            let u = error / density
            let step = u / (1 - 0.5 * min(1, u * (a1 / x - 1)))
            x -= step
            if x <= 0 { x = 0.5 * (x + step) }
            if abs(step) < 1e-14 * x { break }
        }
        return x
    }
}

import Foundation

/// Who is active on which days: every user's engagement level, week by week.
///
/// Each week (Monday to Sunday, as the ocean chart counts them) a user who has not left is
/// dormant, light (1 active day), regular (2–3) or power (4 or more). The level comes from a
/// score: the user's own ``UserRecord/engagement``, a slow weekly wander (so people drift
/// between levels rather than jump), an onboarding boost that fades over the first weeks,
/// the launches (Timeline, Mobile 2.0, the app marketplace lift everyone a little) and, for the
/// declining majors, a pull down from 2026-08-01 that thins power into regular into light into
/// dormant. The active days are then drawn within the week, weekdays first; the December
/// holidays and the sync outage take some of them away.
///
/// The model is a pure function of the plan and the population: running it twice gives the
/// same weeks, which the writer relies on (once to size each day's events, once to write them).
struct EngagementModel {
    /// Levels, as packed in the low two bits of a day's entries (dormant people have none).
    static let light: UInt32 = 1
    static let regular: UInt32 = 2
    static let power: UInt32 = 3

    /// Week-to-week persistence of the wander and its spread.
    static let persistence: Float = 0.88
    static let spread: Float = 0.55
    /// Score lift in a user's first week, fading by e every `onboardingWeeks`.
    static let onboardingBoost: Float = 1.1
    static let onboardingWeeks: Float = 3
    /// Score thresholds: below 0 dormant, then light, from `regularFrom` regular, from `powerFrom` power.
    static let regularFrom: Float = 0.75
    static let powerFrom: Float = 1.6
    /// Relative chance of a weekend day being one of the active days (weekdays 1).
    static let weekendWeight: Float = 0.3

    /// A user's weight in a day's events, by level: power users do more on the days they come.
    static let levelIntensity: [Int64] = [0, 7, 10, 16]

    let users: [UserRecord]
    let declining: [Bool]
    let firstDay: Int
    let lastDay: Int
    private var rng: Rng
    private var wander: [Float]
    private var alive: [Int32] = []
    private var entered = 0
    /// Monday of the week ``nextWeek(into:)`` simulates next.
    private(set) var weekStart: Int

    init(plan: GenerationPlan, population: Population) {
        users = population.users
        declining = population.workspaces.map(\.declining)
        firstDay = plan.firstDay
        lastDay = plan.lastDay
        rng = Rng(seed: plan.seed, stream: 11)
        wander = [Float](repeating: 0, count: population.users.count)
        weekStart = EngagementModel.monday(of: plan.firstDay)
    }

    /// The Monday of the week holding `day`.
    static func monday(of day: Int) -> Int {
        day - (CivilCalendar.weekday(day) + 6) % 7
    }

    /// Whether another week overlaps the history.
    var hasWeeks: Bool { weekStart <= lastDay }

    /// The score lift every user gets from the launches, on `day`.
    static func launchLift(_ day: Int) -> Float {
        var lift: Float = 0
        if day >= Milestone.timelineView { lift += 0.12 * min(1, Float(day - Milestone.timelineView + 1) / 14) }
        if day >= Milestone.mobile2 { lift += 0.08 }
        if day >= Milestone.appMarketplace { lift += 0.16 * min(1, Float(day - Milestone.appMarketplace + 1) / 42) }
        return lift
    }

    /// The pull on a declining major's people, on `day`: nothing before 2026-08-01, then
    /// 0.12 a week more, up to 1.
    static func declinePull(_ day: Int) -> Float {
        guard day >= Milestone.declineStart else { return 0 }
        return min(1, 0.12 * Float(day - Milestone.declineStart + 7) / 7)
    }

    /// The chance that a drawn active day is lost: the December holidays and the sync outage.
    static func lossChance(_ day: Int) -> Float {
        if day == Milestone.syncOutage { return 0.3 }
        if day == Milestone.syncOutage + 1 { return 0.12 }
        let date = CivilCalendar.civil(day)
        if (date.month == 12 && date.day >= 20) || (date.month == 1 && date.day <= 2) { return 0.5 }
        if date.month == 12 { return 0.1 }
        return 0
    }

    /// A cheap standard normal deviate (the sum of four uniforms, rescaled).
    @inline(__always)
    private mutating func wobble() -> Float {
        let bits = rng.next()
        let sum = Float(bits & 0xFFFF) + Float(bits >> 16 & 0xFFFF) + Float(bits >> 32 & 0xFFFF) + Float(bits >> 48)
        return (sum / 65_536 - 2) * 1.732_050_8
    }

    /// Simulates the next week: `days[i]` receives, in user order, `user << 2 | level` for
    /// every user active on day `weekStart + i` (days outside the history stay empty).
    mutating func nextWeek(into days: inout [[UInt32]]) {
        for index in days.indices { days[index].removeAll(keepingCapacity: true) }
        let start = weekStart
        let end = start + 6
        weekStart += 7
        // Newcomers join with a wander drawn from its long-run spread.
        while entered < users.count && users[entered].signupDay <= end {
            wander[entered] = EngagementModel.spread * wobble()
            alive.append(Int32(entered))
            entered += 1
        }
        let lift = EngagementModel.launchLift(start + 3)
        let pull = EngagementModel.declinePull(start)
        let keep = (1 - EngagementModel.persistence * EngagementModel.persistence).squareRoot() * EngagementModel.spread
        var loss = [Float](repeating: 0, count: 7)
        var dayWeights = [Float](repeating: 0, count: 7)
        for offset in 0..<7 {
            loss[offset] = EngagementModel.lossChance(start + offset)
            dayWeights[offset] = CivilCalendar.isWeekend(start + offset) ? EngagementModel.weekendWeight : 1
        }
        let weekTotal = dayWeights.reduce(0, +)
        var picked = [Float](repeating: 0, count: 7)
        var kept = 0
        for position in alive.indices {
            let index = Int(alive[position])
            let user = users[index]
            if Int(user.lastActiveDay) < start { continue }
            alive[kept] = Int32(index)
            kept += 1
            let x = EngagementModel.persistence * wander[index] + keep * wobble()
            wander[index] = x
            let signupDay = user.signupDay
            let weeks = Float((start - EngagementModel.monday(of: signupDay)) / 7)
            var score = user.engagement + x + lift
            score += EngagementModel.onboardingBoost * expf(-weeks / EngagementModel.onboardingWeeks)
            if pull > 0 && declining[Int(user.workspace)] { score -= pull }
            guard score >= 0 else { continue }
            let level: UInt32 =
                score < EngagementModel.regularFrom
                ? EngagementModel.light
                : score < EngagementModel.powerFrom ? EngagementModel.regular : EngagementModel.power
            let count: Int
            let roll = rng.next() >> 40
            switch level {
            case EngagementModel.light: count = 1
            // `roll` is uniform below 2^24: regular people come on 3 days 55% of the weeks, else 2;
            // power people on 4 days 45% of the weeks, 5 days 40%, 6 days 10%, 7 days 5%.
            case EngagementModel.regular: count = roll < 9_227_469 ? 3 : 2
            default: count = roll < 7_549_747 ? 4 : roll < 14_260_633 ? 5 : roll < 15_938_355 ? 6 : 7
            }
            // The days are drawn from the whole week and kept when the user can be active on
            // them (after signing up, up to leaving, inside the history), so a week cut short
            // by any of these has fewer active days rather than the same ones squeezed in.
            let low = max(start, signupDay + 1, firstDay)
            let high = min(end, Int(user.lastActiveDay), lastDay)
            guard low <= high else { continue }
            var total = weekTotal
            for offset in 0..<7 { picked[offset] = dayWeights[offset] }
            for _ in 0..<count {
                var target = Float(rng.next() >> 40) * 0x1.0p-24 * total
                var chosen = 0
                for offset in 0..<7 where picked[offset] > 0 {
                    chosen = offset
                    if target < picked[offset] { break }
                    target -= picked[offset]
                }
                total -= picked[chosen]
                picked[chosen] = 0
                guard start + chosen >= low && start + chosen <= high else { continue }
                if loss[chosen] > 0 && Float(rng.next() >> 40) * 0x1.0p-24 < loss[chosen] { continue }
                days[chosen].append(UInt32(index) << 2 | level)
            }
        }
        alive.removeLast(alive.count - kept)
    }
}

/// Subscriptions, billing events, monthly MRR and CRM accounts, simulated per workspace.
struct Billing {
    static let planNames = ["free", "starter", "business", "enterprise"]
    static let free = 0
    static let starter = 1
    static let business = 2
    static let enterprise = 3
    static let kindNames = ["new", "upgrade", "downgrade", "churn", "reactivation"]

    struct Subscription {
        var workspace: Int
        var plan: Int
        var seats: Int
        var mrr: Double
        var start: Int
        var end: Int?
    }

    struct Event {
        var workspace: Int
        var day: Int
        var kind: Int
        var planFrom: Int?
        var planTo: Int?
        var seatsDelta: Int
        var mrrDelta: Double
    }

    struct MonthRow {
        var month: Int
        var workspace: Int
        var plan: Int
        var seats: Int
        var mrr: Double
    }

    var subscriptions: [Subscription] = []
    var events: [Event] = []
    var months: [MonthRow] = []

    /// List price per seat and month.
    static func seatPrice(plan: Int, day: Int) -> Double {
        switch plan {
        case starter: return 8
        case business: return day >= Milestone.newPricing ? 14 : 16
        case enterprise: return 27
        default: return 0
        }
    }

    static func cents(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    /// Simulates every workspace and fills `population.workspaces[…].plan/seats` with the current state.
    static func simulate(plan: GenerationPlan, population: inout Population) -> Billing {
        var billing = Billing()
        var rng = Rng(seed: plan.seed, stream: 4)
        // Sign-up days of each workspace's members, in order (users are sorted by sign-up).
        var memberStarts = [Int](repeating: 0, count: population.workspaces.count + 1)
        for user in population.users { memberStarts[Int(user.workspace) + 1] += 1 }
        for index in 0..<population.workspaces.count { memberStarts[index + 1] += memberStarts[index] }
        var fill = memberStarts
        var memberDays = [Int32](repeating: 0, count: population.users.count)
        for user in population.users {
            memberDays[fill[Int(user.workspace)]] = Int32(user.signupDay)
            fill[Int(user.workspace)] += 1
        }
        func members(_ workspace: Int, _ day: Int) -> Int {
            var low = memberStarts[workspace]
            var high = memberStarts[workspace + 1]
            while low < high {
                let mid = (low + high) / 2
                if Int(memberDays[mid]) <= day { low = mid + 1 } else { high = mid }
            }
            return low - memberStarts[workspace]
        }

        for index in population.workspaces.indices {
            let workspace = population.workspaces[index]
            let discount =
                workspace.tier == Tier.major
                ? 0.15 + 0.15 * rng.unit() : workspace.tier == Tier.mid ? 0.1 * rng.unit() : 0
            var current: Int?  // index into billing.subscriptions of the open period
            var lastChange = workspace.createdDay
            var previousPlan = Billing.starter
            var hasPaid = false

            func change(day: Int, to newPlan: Int?, seats newSeats: Int, kind: Int) {
                var oldPlan: Int?
                var oldSeats = 0
                var oldMRR = 0.0
                if let open = current {
                    billing.subscriptions[open].end = day
                    oldPlan = billing.subscriptions[open].plan
                    oldSeats = billing.subscriptions[open].seats
                    oldMRR = billing.subscriptions[open].mrr
                    previousPlan = billing.subscriptions[open].plan
                    current = nil
                }
                var newMRR = 0.0
                if let newPlan {
                    newMRR = cents(Double(newSeats) * seatPrice(plan: newPlan, day: day) * (1 - discount))
                    billing.subscriptions.append(
                        Subscription(
                            workspace: index, plan: newPlan, seats: newSeats, mrr: newMRR, start: day, end: nil))
                    current = billing.subscriptions.count - 1
                    hasPaid = true
                }
                billing.events.append(
                    Event(
                        workspace: index, day: day, kind: kind, planFrom: oldPlan, planTo: newPlan,
                        seatsDelta: (newPlan == nil ? 0 : newSeats) - oldSeats, mrrDelta: cents(newMRR - oldMRR)))
                lastChange = day
            }
            func openPlan() -> Int? { current.map { billing.subscriptions[$0].plan } }
            func openSeats() -> Int { current.map { billing.subscriptions[$0].seats } ?? 0 }

            // Majors and most mids start paying soon after they are created.
            if workspace.tier == Tier.major {
                let day = min(plan.lastDay, workspace.createdDay + rng.between(1, 14))
                change(
                    day: day, to: Billing.enterprise, seats: roundUp(max(50, members(index, day + 180)), 25), kind: 0)
            } else if workspace.tier == Tier.mid && rng.chance(0.85) {
                let day = min(plan.lastDay, workspace.createdDay + 1 + Int(rng.exponential(mean: 20)))
                change(
                    day: day, to: rng.chance(0.8) ? Billing.business : Billing.starter,
                    seats: max(5, members(index, day + 60)), kind: 0)
            }

            var monthStart = CivilCalendar.firstOfMonth(workspace.createdDay)
            var monthNumber = 0
            while monthStart <= plan.lastDay {
                let nextMonth = CivilCalendar.firstOfNextMonth(monthStart)
                defer {
                    monthStart = nextMonth
                    monthNumber += 1
                }
                let low = max(monthStart, lastChange + 1)
                let high = min(nextMonth - 1, plan.lastDay)
                guard low <= high else { continue }
                let day = rng.between(low, high)
                let memberCount = max(1, members(index, day))
                let isPaying = current != nil
                let planNow = openPlan() ?? Billing.free
                let inPricingBurst = day >= Milestone.newPricing && day <= Milestone.newPricingBurstEnd

                // The story: declining majors shrink, and Umbrella churns.
                if workspace.declining && day >= Milestone.declineStart {
                    if let churn = workspace.churnDay, churn <= plan.lastDay, churn >= low, churn <= high, isPaying {
                        change(day: churn, to: nil, seats: 0, kind: 3)
                    } else if isPaying && monthStart >= Milestone.declineStart
                        && CivilCalendar.civil(monthStart).month == (workspace.domain == "initech.com" ? 10 : 9)
                    {
                        let newPlan = workspace.domain == "initech.com" ? Billing.business : planNow
                        change(day: day, to: newPlan, seats: roundUp(openSeats() * 7 / 10, 5), kind: 2)
                    }
                    continue
                }

                switch (workspace.tier, isPaying) {
                case (Tier.major, true):
                    let needed = roundUp(memberCount * 115 / 100, 25)
                    if monthNumber % 3 == 0 && needed > openSeats() {
                        change(day: day, to: planNow, seats: needed, kind: 1)
                    }
                case (Tier.major, false):
                    if rng.chance(0.3) {
                        change(day: day, to: Billing.enterprise, seats: roundUp(memberCount, 25), kind: 4)
                    }
                case (_, true):
                    let churnRate = workspace.tier == Tier.mid ? 0.007 : 0.022
                    let roll = rng.unit()
                    if roll < churnRate {
                        change(day: day, to: nil, seats: 0, kind: 3)
                    } else if planNow == Billing.starter && rng.chance(inPricingBurst ? 0.2 : 0.015) {
                        change(day: day, to: Billing.business, seats: max(openSeats(), memberCount), kind: 1)
                    } else if planNow == Billing.business && workspace.tier == Tier.mid && rng.chance(0.008) {
                        change(day: day, to: Billing.enterprise, seats: max(openSeats(), memberCount), kind: 1)
                    } else if planNow == Billing.business && rng.chance(0.006) {
                        change(day: day, to: Billing.starter, seats: openSeats(), kind: 2)
                    } else if memberCount > openSeats() && rng.chance(0.3) {
                        change(day: day, to: planNow, seats: memberCount, kind: 1)
                    }
                case (_, false):
                    if hasPaid {
                        if rng.chance(workspace.tier == Tier.mid ? 0.05 : 0.03) {
                            change(day: day, to: previousPlan, seats: max(1, memberCount), kind: 4)
                        }
                    } else if rng.chance(monthNumber < 3 ? 0.06 : 0.008)
                        || (workspace.tier == Tier.mid && rng.chance(0.1))
                    {
                        let businessShare = day >= Milestone.newPricing ? 0.45 : 0.3
                        change(
                            day: day, to: rng.chance(businessShare) ? Billing.business : Billing.starter,
                            seats: max(1, memberCount), kind: 0)
                    }
                }
            }

            if let open = current {
                population.workspaces[index].plan = billing.subscriptions[open].plan
                population.workspaces[index].seats = billing.subscriptions[open].seats
            } else {
                // Seats are paid seats: a workspace on the free plan has none.
                population.workspaces[index].plan = Billing.free
                population.workspaces[index].seats = 0
            }
        }
        billing.computeMonths(plan: plan)
        return billing
    }

    static func roundUp(_ value: Int, _ step: Int) -> Int { max(step, (value + step - 1) / step * step) }

    /// MRR per paying workspace and month of history, as of the month's last day (or the last day).
    private mutating func computeMonths(plan: GenerationPlan) {
        var month = CivilCalendar.firstOfMonth(plan.firstDay)
        var monthDays: [(month: Int, day: Int)] = []
        while month <= plan.lastDay {
            let next = CivilCalendar.firstOfNextMonth(month)
            monthDays.append((month, min(next - 1, plan.lastDay)))
            month = next
        }
        for subscription in subscriptions {
            for (month, day) in monthDays
            where subscription.start <= day && (subscription.end.map { $0 > day } ?? true) {
                months.append(
                    MonthRow(
                        month: month, workspace: subscription.workspace, plan: subscription.plan,
                        seats: subscription.seats, mrr: subscription.mrr))
            }
        }
        months.sort { $0.month != $1.month ? $0.month < $1.month : $0.workspace < $1.workspace }
    }
}

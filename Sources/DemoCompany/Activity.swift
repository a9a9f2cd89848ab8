import AlmanacCore
import Foundation
import GRDB
import SQLiteRows

/// A Fenwick (binary indexed) tree of integer user weights, for weighted sampling of active users.
struct Fenwick {
    private(set) var tree: [Int64]
    private(set) var total: Int64 = 0
    private let count: Int
    private let topStep: Int

    /// A tree over `weights` (O(n) construction).
    init(weights: [Int64]) {
        count = weights.count
        tree = [Int64](repeating: 0, count: count + 1)
        for (index, weight) in weights.enumerated() {
            tree[index + 1] += weight
            total += weight
            let parent = (index + 1) + ((index + 1) & -(index + 1))
            if parent <= count { tree[parent] += tree[index + 1] }
        }
        var step = 1
        while step * 2 <= count { step *= 2 }
        topStep = step
    }

    @inline(__always)
    mutating func add(_ index: Int, _ delta: Int64) {
        total += delta
        var position = index + 1
        while position <= count {
            tree[position] += delta
            position += position & -position
        }
    }

    /// The index whose cumulative weight range contains `target` (0 ≤ target < total).
    @inline(__always)
    func find(_ target: Int64) -> Int {
        var position = 0
        var remaining = target
        var step = topStep
        while step > 0 {
            let next = position + step
            if next <= count && tree[next] <= remaining {
                position = next
                remaining -= tree[next]
            }
            step >>= 1
        }
        return position
    }
}

/// Strings stored once as bytes, bound to statements without any per-row allocation.
final class ByteTable {
    private let storage: UnsafeMutablePointer<UInt8>
    private let offsets: [Int]
    private let lengths: [Int]

    init(_ strings: [String]) {
        var bytes: [UInt8] = []
        var offsets: [Int] = []
        var lengths: [Int] = []
        for string in strings {
            offsets.append(bytes.count)
            lengths.append(string.utf8.count)
            bytes.append(contentsOf: string.utf8)
        }
        storage = .allocate(capacity: max(1, bytes.count))
        storage.initialize(from: bytes, count: bytes.count)
        self.offsets = offsets
        self.lengths = lengths
    }

    deinit { storage.deallocate() }

    @inline(__always)
    func bind(_ inserter: RowStatement, _ column: Int32, _ index: Int) {
        inserter.bind(column, bytes: storage + offsets[index], count: lengths[index])
    }
}

/// Product events and error logs, generated day by day.
struct ActivityGenerator {
    static let eventNames = [
        "login", "task_created", "task_completed", "comment_added", "project_created", "invite_sent",
        "timeline_viewed", "app_used",
    ]
    static let login: UInt8 = 0
    static let taskCreated: UInt8 = 1
    static let taskCompleted: UInt8 = 2
    static let commentAdded: UInt8 = 3
    static let projectCreated: UInt8 = 4
    static let inviteSent: UInt8 = 5
    static let timelineViewed: UInt8 = 6
    static let appUsed: UInt8 = 7

    /// Local-time hour weights of sessions (the working day).
    static let localHourWeights: [Double] = [
        0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.6, 1.5, 3.5, 5.0, 5.5, 5.2, 4.2, 4.8, 5.2, 5.0, 4.4, 3.4, 2.2, 1.6, 1.3, 1.1,
        0.8, 0.5,
    ]

    struct DayEvent {
        /// Second of the day in the high 32 bits, generation order in the low ones.
        var key: UInt64
        var user: Int32
        var workspace: Int32
        var name: UInt8
        var platform: UInt8
        var app: Int16

        var second: Int { Int(key >> 32) }
    }

    struct DayError {
        var second: Int
        var user: Int32
        var workspace: Int32
        var service: UInt8
        var kind: UInt8
        var severity: UInt8
        var number: Int
    }

    /// Daily event totals: growth, seasonality, launches and the outage, summing to `plan.eventCount`.
    static func dailyBudgets(plan: GenerationPlan) -> [Int] {
        var rng = Rng(seed: plan.seed, stream: 5)
        let growth = log(2.0) / 730
        let weights = (plan.firstDay...plan.lastDay).map { day -> Double in
            var factor = exp(growth * Double(day - plan.firstDay)) * Population.seasonality(day)
            factor *= max(0.85, min(1.15, 1 + 0.04 * rng.normal()))
            if day >= Milestone.timelineView { factor *= 1.12 }
            if day >= Milestone.mobile2 { factor *= 1.05 }
            if day >= Milestone.appMarketplace {
                factor *= 1 + 0.15 * min(1, Double(day - Milestone.appMarketplace + 1) / 45)
            }
            if day == Milestone.syncOutage { factor *= 0.62 }
            if day == Milestone.syncOutage + 1 { factor *= 0.8 }
            return factor
        }
        return Population.apportion(plan.eventCount, weights: weights)
    }
}

extension WarehouseWriter {
    /// Writes `events` and `error_logs`; returns their row counts.
    func writeActivity(_ db: Database, population: Population) throws -> (events: Int, errors: Int) {
        let users = population.users
        let firstDay = plan.firstDay
        let lastDay = plan.lastDay
        let dayCount = lastDay - firstDay + 1
        let budgets = ActivityGenerator.dailyBudgets(plan: plan)
        var rng = Rng(seed: plan.seed, stream: 6)
        var errorRng = Rng(seed: plan.seed, stream: 7)

        // Who may be picked for a session: in the pool from the day after sign-up to the last active day.
        var initialWeights = [Int64](repeating: 0, count: users.count)
        var removalCounts = [Int](repeating: 0, count: dayCount + 1)
        var activationCounts = [Int](repeating: 0, count: dayCount + 1)
        var firstInWindow = users.count
        for (index, user) in users.enumerated() {
            let signupDay = user.signupDay
            let last = Int(user.lastActiveDay)
            if signupDay >= firstDay && firstInWindow == users.count { firstInWindow = index }
            if signupDay < firstDay && last >= firstDay { initialWeights[index] = Int64(user.weight) }
            if last >= max(signupDay + 1, firstDay) && last < lastDay { removalCounts[last + 1 - firstDay + 1] += 1 }
            if user.activated >= 0 {
                let day = user.activated / 86_400
                if day >= firstDay && day <= lastDay { activationCounts[day - firstDay + 1] += 1 }
            }
        }
        for index in 0..<dayCount {
            removalCounts[index + 1] += removalCounts[index]
            activationCounts[index + 1] += activationCounts[index]
        }
        var removals = [Int32](repeating: 0, count: removalCounts[dayCount])
        var activations = [Int32](repeating: 0, count: activationCounts[dayCount])
        var removalFill = removalCounts
        var activationFill = activationCounts
        for (index, user) in users.enumerated() {
            let last = Int(user.lastActiveDay)
            if last >= max(user.signupDay + 1, firstDay) && last < lastDay {
                removals[removalFill[last + 1 - firstDay]] = Int32(index)
                removalFill[last + 1 - firstDay] += 1
            }
            if user.activated >= 0 {
                let day = user.activated / 86_400
                if day >= firstDay && day <= lastDay {
                    activations[activationFill[day - firstDay]] = Int32(index)
                    activationFill[day - firstDay] += 1
                }
            }
        }
        var pool = Fenwick(weights: initialWeights)
        initialWeights = []

        let utcOffsets = ReferenceData.cities.map(\.utcOffset)
        var localHourCumulative: [UInt64] = []
        do {
            let total = ActivityGenerator.localHourWeights.reduce(0, +)
            var running = 0.0
            for weight in ActivityGenerator.localHourWeights {
                running += weight
                localHourCumulative.append(UInt64(running / total * 4_294_967_295))
            }
        }
        let appCount = ReferenceData.apps.count
        let appLaunchDays = ReferenceData.apps.map { CivilCalendar.parse($0.launchedOn)! }
        var appCumulative: [Double] = []
        var appRunning = 0.0
        for rank in 0..<appCount {
            appRunning += rank < 7 ? 1.0 / (1 + 0.35 * Double(rank)) : 0.45
            appCumulative.append(appRunning)
        }

        let eventNames = ByteTable(ActivityGenerator.eventNames)
        let platformNames = ByteTable(Platform.names)
        let serviceNames = ByteTable(ReferenceData.services)
        let severityNames = ByteTable(["warning", "error", "fatal"])
        let errorClasses = ReferenceData.errorKinds.map { ByteTable($0.map(\.errorClass)) }

        let events = try RowStatement(
            db, table: "events",
            columns: [
                "event_id", "user_id", "workspace_id", "occurred_at", "event_date", "event_name", "platform", "app_id",
            ])
        let errors = try RowStatement(
            db, table: "error_logs",
            columns: [
                "error_id", "occurred_at", "error_date", "workspace_id", "user_id", "service", "error_class",
                "severity",
                "message",
            ])
        let stamp = UnsafeMutablePointer<UInt8>.allocate(capacity: 19)
        defer { stamp.deallocate() }
        stamp[10] = UInt8(ascii: " ")

        var dayEvents: [ActivityGenerator.DayEvent] = []
        dayEvents.reserveCapacity((budgets.max() ?? 0) * 2 + 64)
        var dayErrors: [ActivityGenerator.DayError] = []
        var eventID = 0
        var errorID = 0
        var nextReport = 10_000
        var addPointer = firstInWindow
        var onboardPointer = firstInWindow
        let total = plan.eventCount

        for dayOffset in 0..<dayCount {
            let day = firstDay + dayOffset
            let dayStart = day * 86_400
            // Pool changes: yesterday's sign-ups join, users past their last active day leave.
            while addPointer < users.count && users[addPointer].signupDay < day {
                let user = users[addPointer]
                if Int(user.lastActiveDay) >= user.signupDay + 1 { pool.add(addPointer, Int64(user.weight)) }
                addPointer += 1
            }
            for position in removalCounts[dayOffset]..<removalCounts[dayOffset + 1] {
                let index = Int(removals[position])
                pool.add(index, -Int64(users[index].weight))
            }

            // This day's mix of event names.
            var nameWeights: [Double] = [4, 26, 22, 20, 3, 2, 0, 0]
            if day >= Milestone.timelineView {
                nameWeights[6] = 12 * min(1, Double(day - Milestone.timelineView + 1) / 14)
            }
            var appsAvailable = 0
            while appsAvailable < appCount && appLaunchDays[appsAvailable] <= day { appsAvailable += 1 }
            if appsAvailable > 0 {
                nameWeights[7] =
                    day >= Milestone.appMarketplace
                    ? 2 + 16 * min(1, Double(day - Milestone.appMarketplace + 1) / 45) : 2
            }
            let nameTotal = nameWeights.reduce(0, +)
            var nameCumulative: [UInt64] = []
            var nameRunning = 0.0
            for weight in nameWeights {
                nameRunning += weight
                nameCumulative.append(UInt64(nameRunning / nameTotal * 4_294_967_295))
            }
            let platformMix = Platform.mix(on: day)
            let iosShare = platformMix[1] / (platformMix[1] + platformMix[2])
            // Share of a user's events from another device than their own; Mobile 2.0 doubles it.
            let otherDevice: UInt64 = day >= Milestone.mobile2 ? 1_288_490_189 : 644_245_094

            dayEvents.removeAll(keepingCapacity: true)
            var sequence: UInt64 = 0

            @inline(__always) func pickName(_ rng: inout Rng) -> UInt8 {
                let roll = rng.next() >> 32
                var name = 0
                while name < 7 && nameCumulative[name] < roll { name += 1 }
                return UInt8(name)
            }
            @inline(__always) func emit(_ userIndex: Int, _ second: Int, _ wanted: UInt8, _ rng: inout Rng) {
                let user = users[userIndex]
                var name = wanted
                if name == ActivityGenerator.taskCreated {
                    let at = dayStart + second
                    // Activation is the first task within 7 days: none before it, none at all if not activated.
                    if user.activated >= 0 ? at < user.activated : at < user.signup + 7 * 86_400 {
                        name = ActivityGenerator.commentAdded
                    }
                }
                var platform = user.platform
                if rng.next() >> 32 < otherDevice {
                    platform = rng.unit() < platformMix[0] ? 0 : (rng.unit() < iosShare ? 1 : 2)
                }
                var app: Int16 = -1
                if name == ActivityGenerator.appUsed {
                    let target = rng.unit() * appCumulative[appsAvailable - 1]
                    var chosen = 0
                    while chosen < appsAvailable - 1 && appCumulative[chosen] <= target { chosen += 1 }
                    app = Int16(chosen)
                }
                dayEvents.append(
                    ActivityGenerator.DayEvent(
                        key: UInt64(second) << 32 | sequence, user: Int32(userIndex), workspace: user.workspace,
                        name: name, platform: platform, app: app))
                sequence += 1
            }

            // Sign-ups' first session, and the activating task of those who activate today.
            while onboardPointer < users.count && users[onboardPointer].signupDay == day {
                let user = users[onboardPointer]
                var second = user.signup - dayStart + rng.between(5, 60)
                if second < 86_400 {
                    emit(
                        onboardPointer, second,
                        user.isFounder ? ActivityGenerator.projectCreated : ActivityGenerator.login, &rng)
                }
                let extra = rng.below(3)
                for step in 0..<extra {
                    second += rng.between(20, 200)
                    guard second < 86_400 else { break }
                    let name =
                        user.isFounder && step == 0 && rng.chance(0.6) ? ActivityGenerator.inviteSent : pickName(&rng)
                    emit(onboardPointer, second, name, &rng)
                }
                onboardPointer += 1
            }
            for position in activationCounts[dayOffset]..<activationCounts[dayOffset + 1] {
                let index = Int(activations[position])
                let second = users[index].activated - dayStart
                emit(index, second, ActivityGenerator.taskCreated, &rng)
                let follow = second + rng.between(60, 1_200)
                if follow < 86_400 && rng.chance(0.4) { emit(index, follow, ActivityGenerator.taskCompleted, &rng) }
            }

            // Everyone else: sessions of returning users, picked by activity weight.
            var remaining = budgets[dayOffset] - dayEvents.count
            while remaining > 0 && pool.total > 0 {
                let target = Int64(bitPattern: rng.next().multipliedFullWidth(by: UInt64(pool.total)).high)
                let userIndex = pool.find(target)
                let user = users[userIndex]
                let length = min(remaining, 1 + min(24, Int(rng.exponential(mean: 3.5))))
                let roll = rng.next() >> 32
                var localHour = 0
                while localHour < 23 && localHourCumulative[localHour] < roll { localHour += 1 }
                let offset = utcOffsets[Int(user.city)]
                let utcHour = ((localHour - offset) % 24 + 24) % 24
                // Gaps are at most 239 s, so starting here keeps the whole session inside the day.
                var second = max(0, min(utcHour * 3600 + rng.below(3600), 86_399 - (length - 1) * 240))
                for step in 0..<length {
                    if step > 0 { second += 20 + rng.below(220) }
                    let name = step == 0 && rng.chance(0.7) ? ActivityGenerator.login : pickName(&rng)
                    emit(userIndex, second, name, &rng)
                }
                remaining -= length
            }

            dayEvents.sort { $0.key < $1.key }

            // Errors seen by users active today; the sync outage floods the sync service.
            dayErrors.removeAll(keepingCapacity: true)
            if !dayEvents.isEmpty {
                let baseline = Int((Double(dayEvents.count) * 0.006 * (0.8 + 0.4 * errorRng.unit())).rounded())
                var outage = 0
                if day == Milestone.syncOutage { outage = dayEvents.count * 8 / 100 }
                if day == Milestone.syncOutage + 1 { outage = dayEvents.count * 5 / 100 }
                for number in 0..<(baseline + outage) {
                    let isOutage = number >= baseline
                    var event = dayEvents[errorRng.below(dayEvents.count)]
                    if isOutage {
                        for _ in 0..<30 {
                            let inWindow =
                                day == Milestone.syncOutage ? event.second >= 13 * 3600 : event.second < 20 * 3600
                            if inWindow { break }
                            event = dayEvents[errorRng.below(dayEvents.count)]
                        }
                    }
                    let service = isOutage ? 2 : errorRng.pick([0.35, 0.25, 0.15, 0.15, 0.10])
                    let severityRoll = errorRng.unit()
                    let severity =
                        isOutage
                        ? (severityRoll < 0.7 ? 1 : 2) : (severityRoll < 0.55 ? 0 : severityRoll < 0.93 ? 1 : 2)
                    dayErrors.append(
                        ActivityGenerator.DayError(
                            second: min(86_399, event.second + errorRng.below(20)), user: event.user,
                            workspace: event.workspace, service: UInt8(service),
                            kind: UInt8(errorRng.below(ReferenceData.errorKinds[service].count)),
                            severity: UInt8(severity), number: errorRng.between(100, 99_999)))
                }
                dayErrors.sort { $0.second != $1.second ? $0.second < $1.second : $0.user < $1.user }
            }

            // Write the day.
            CivilCalendar.writeDate(day, to: stamp)
            for event in dayEvents {
                eventID += 1
                CivilCalendar.writeTime(event.second, to: stamp + 11)
                events.bind(1, eventID)
                events.bind(2, Int(event.user) + 1)
                events.bind(3, Int(event.workspace) + 1)
                events.bind(4, bytes: stamp, count: 19)
                events.bind(5, bytes: stamp, count: 10)
                eventNames.bind(events, 6, Int(event.name))
                platformNames.bind(events, 7, Int(event.platform))
                if event.app >= 0 { events.bind(8, Int(event.app) + 1) } else { events.bindNull(8) }
                try events.insert()
                if eventID >= nextReport {
                    progress.update("events", completed: eventID, total: total)
                    nextReport += 10_000
                }
            }
            for error in dayErrors {
                errorID += 1
                CivilCalendar.writeTime(error.second, to: stamp + 11)
                let kind = ReferenceData.errorKinds[Int(error.service)][Int(error.kind)]
                errors.bind(1, errorID)
                errors.bind(2, bytes: stamp, count: 19)
                errors.bind(3, bytes: stamp, count: 10)
                errors.bind(4, Int(error.workspace) + 1)
                errors.bind(5, Int(error.user) + 1)
                serviceNames.bind(errors, 6, Int(error.service))
                errorClasses[Int(error.service)].bind(errors, 7, Int(error.kind))
                severityNames.bind(errors, 8, Int(error.severity))
                errors.bind(9, kind.message.replacingOccurrences(of: "{n}", with: String(error.number)))
                try errors.insert()
            }
        }
        progress.update("events", completed: eventID, total: max(total, eventID))
        progress.finish("events")
        return (eventID, errorID)
    }
}

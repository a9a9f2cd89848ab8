import AlmanacCore
import Foundation
import GRDB
import SQLiteRows

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

/// Product events, error logs and support tickets, generated day by day: who is active on a
/// day comes from ``EngagementModel``, each of them has at least one event, and the rest of the
/// day's events go to the more engaged and busier of them.
enum ActivityGenerator {
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
        /// Part of the sync outage's flood.
        var outage: Bool
    }

    /// Each day's events beyond the one every active user, sign-up and activation of the day
    /// has: further sessions, spread by how many and how engaged the day's active users are.
    /// Sized from a first run of the engagement model, so that all days sum to `plan.eventCount`.
    static func extraEvents(plan: GenerationPlan, population: Population) throws -> [Int] {
        let users = population.users
        let dayCount = plan.lastDay - plan.firstDay + 1
        var required = [Int](repeating: 0, count: dayCount)
        var intensity = [Double](repeating: 0, count: dayCount)
        var model = EngagementModel(plan: plan, population: population)
        var week = [[UInt32]](repeating: [], count: 7)
        while model.hasWeeks {
            let start = model.weekStart
            model.nextWeek(into: &week)
            for offset in 0..<7 where start + offset >= plan.firstDay && start + offset <= plan.lastDay {
                let index = start + offset - plan.firstDay
                var sum: Int64 = 0
                for entry in week[offset] {
                    sum += Int64(users[Int(entry >> 2)].weight) * EngagementModel.levelIntensity[Int(entry & 3)]
                }
                required[index] += week[offset].count
                intensity[index] = Double(sum)
            }
        }
        for user in users {
            let day = user.signupDay
            if day >= plan.firstDay && day <= plan.lastDay && user.signup - day * 86_400 < 86_399 {
                required[day - plan.firstDay] += 1
            }
            if user.activated >= 0 {
                let activationDay = user.activated / 86_400
                if activationDay >= plan.firstDay && activationDay <= plan.lastDay {
                    required[activationDay - plan.firstDay] += 1
                }
            }
        }
        let needed = required.reduce(0, +)
        guard needed <= plan.eventCount else {
            throw DemoCompanyError(
                "\(plan.eventCount) events are too few for \(plan.userCount) users: their active days alone need \(needed)"
            )
        }
        var rng = Rng(seed: plan.seed, stream: 5)
        var weights = (0..<dayCount).map { index -> Double in
            let day = plan.firstDay + index
            var factor = CivilCalendar.isWeekend(day) ? 0.65 : 1.0
            factor *= max(0.85, min(1.15, 1 + 0.04 * rng.normal()))
            if day >= Milestone.timelineView { factor *= 1.1 }
            if day >= Milestone.appMarketplace {
                factor *= 1 + 0.2 * min(1, Double(day - Milestone.appMarketplace + 1) / 45)
            }
            if day == Milestone.syncOutage { factor *= 0.5 }
            if day == Milestone.syncOutage + 1 { factor *= 0.8 }
            return intensity[index] * factor
        }
        if !weights.contains(where: { $0 > 0 }) { weights = required.map(Double.init) }
        var extra = Population.apportion(plan.eventCount - needed, weights: weights)
        // Only days with active users can take more events (rounding may have given others one).
        if let busiest = weights.indices.max(by: { weights[$0] < weights[$1] }) {
            for index in extra.indices where weights[index] == 0 && extra[index] > 0 {
                extra[busiest] += extra[index]
                extra[index] = 0
            }
        }
        return extra
    }
}

extension WarehouseWriter {
    /// Writes `events`, `error_logs` and `support_tickets`; returns their row counts.
    func writeActivity(_ db: Database, population: Population) throws -> (events: Int, errors: Int, tickets: Int) {
        let users = population.users
        let firstDay = plan.firstDay
        let lastDay = plan.lastDay
        let extras = try ActivityGenerator.extraEvents(plan: plan, population: population)
        var rng = Rng(seed: plan.seed, stream: 6)
        var errorRng = Rng(seed: plan.seed, stream: 7)
        var desk = SupportDesk(plan: plan, population: population)

        // Activations inside the history, by day.
        let dayCount = lastDay - firstDay + 1
        var activationCounts = [Int](repeating: 0, count: dayCount + 1)
        var firstInWindow = users.count
        for (index, user) in users.enumerated() {
            if user.signupDay >= firstDay && firstInWindow == users.count { firstInWindow = index }
            if user.activated >= 0 {
                let day = user.activated / 86_400
                if day >= firstDay && day <= lastDay { activationCounts[day - firstDay + 1] += 1 }
            }
        }
        for index in 0..<dayCount { activationCounts[index + 1] += activationCounts[index] }
        var activations = [Int32](repeating: 0, count: activationCounts[dayCount])
        var activationFill = activationCounts
        for (index, user) in users.enumerated() where user.activated >= 0 {
            let day = user.activated / 86_400
            if day >= firstDay && day <= lastDay {
                activations[activationFill[day - firstDay]] = Int32(index)
                activationFill[day - firstDay] += 1
            }
        }

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

        // Events go in `eventsPerInsert` rows per statement (the rest of a day one by one): one
        // step per row costs more than the row itself.
        let eventColumns = [
            "event_id", "user_id", "workspace_id", "occurred_at", "event_date", "event_name", "platform", "app_id",
        ]
        let eventsPerInsert = 32
        let eventRow = "(" + Array(repeating: "?", count: eventColumns.count).joined(separator: ", ") + ")"
        let eventBatch = try RowStatement(
            db,
            sql: "INSERT INTO events (\(eventColumns.joined(separator: ", "))) VALUES "
                + Array(repeating: eventRow, count: eventsPerInsert).joined(separator: ", "),
            what: "insert into events")
        let eventSingle = try RowStatement(db, table: "events", columns: eventColumns)
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
        var dayErrors: [ActivityGenerator.DayError] = []
        var eventID = 0
        var errorID = 0
        var nextReport = 10_000
        var onboardPointer = firstInWindow
        let total = plan.eventCount
        var model = EngagementModel(plan: plan, population: population)
        var week = [[UInt32]](repeating: [], count: 7)
        var cumulative: [Int64] = []

        while model.hasWeeks {
            let weekStart = model.weekStart
            model.nextWeek(into: &week)
            for weekday in 0..<7 {
                let day = weekStart + weekday
                guard day >= firstDay && day <= lastDay else { continue }
                let dayOffset = day - firstDay
                let dayStart = day * 86_400
                let active = week[weekday]

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
                var extra = extras[dayOffset]

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
                /// A session of `length` events by the user, starting at a working hour of their city.
                @inline(__always) func session(_ userIndex: Int, _ length: Int, login: Double, _ rng: inout Rng) {
                    let roll = rng.next() >> 32
                    var localHour = 0
                    while localHour < 23 && localHourCumulative[localHour] < roll { localHour += 1 }
                    let offset = utcOffsets[Int(users[userIndex].city)]
                    let utcHour = ((localHour - offset) % 24 + 24) % 24
                    // Gaps are at most 239 s, so starting here keeps the whole session inside the day.
                    var second = max(0, min(utcHour * 3600 + rng.below(3600), 86_399 - (length - 1) * 240))
                    for step in 0..<length {
                        if step > 0 { second += 20 + rng.below(220) }
                        let name = step == 0 && rng.chance(login) ? ActivityGenerator.login : pickName(&rng)
                        emit(userIndex, second, name, &rng)
                    }
                }

                // Sign-ups' first session, and the activating task of those who activate today.
                while onboardPointer < users.count && users[onboardPointer].signupDay == day {
                    let user = users[onboardPointer]
                    var second = user.signup - dayStart
                    if second < 86_399 {
                        second = min(86_399, second + rng.between(5, 60))
                        emit(
                            onboardPointer, second,
                            user.isFounder ? ActivityGenerator.projectCreated : ActivityGenerator.login, &rng)
                        let steps = rng.below(3)
                        for step in 0..<steps {
                            second += rng.between(20, 200)
                            guard second < 86_400 && extra > 0 else { break }
                            let name =
                                user.isFounder && step == 0 && rng.chance(0.6)
                                ? ActivityGenerator.inviteSent : pickName(&rng)
                            emit(onboardPointer, second, name, &rng)
                            extra -= 1
                        }
                    }
                    onboardPointer += 1
                }
                for position in activationCounts[dayOffset]..<activationCounts[dayOffset + 1] {
                    let index = Int(activations[position])
                    let second = users[index].activated - dayStart
                    emit(index, second, ActivityGenerator.taskCreated, &rng)
                    let follow = second + rng.between(60, 1_200)
                    if follow < 86_400 && extra > 0 && rng.chance(0.4) {
                        emit(index, follow, ActivityGenerator.taskCompleted, &rng)
                        extra -= 1
                    }
                }

                // Everyone the engagement model made active today comes once; the day's other
                // events are further sessions, more of them for the busier and more engaged.
                cumulative.removeAll(keepingCapacity: true)
                var running: Int64 = 0
                for entry in active {
                    let userIndex = Int(entry >> 2)
                    session(userIndex, 1, login: 0.4, &rng)
                    running += Int64(users[userIndex].weight) * EngagementModel.levelIntensity[Int(entry & 3)]
                    cumulative.append(running)
                }
                while extra > 0 && running > 0 {
                    let target = Int64(bitPattern: rng.next().multipliedFullWidth(by: UInt64(running)).high)
                    var low = 0
                    var high = cumulative.count - 1
                    while low < high {
                        let mid = (low + high) / 2
                        if cumulative[mid] <= target { low = mid + 1 } else { high = mid }
                    }
                    let length = min(extra, 1 + min(24, Int(rng.exponential(mean: 2.5))))
                    session(Int(active[low] >> 2), length, login: 0.5, &rng)
                    extra -= length
                }

                dayEvents.sort { $0.key < $1.key }

                // Errors seen by users active today; the sync outage floods the sync service.
                dayErrors.removeAll(keepingCapacity: true)
                if !dayEvents.isEmpty {
                    let baseline = Int(
                        (Double(dayEvents.count) * 0.0016 * (0.8 + 0.4 * errorRng.unit())).rounded())
                    var outage = 0
                    if day == Milestone.syncOutage { outage = dayEvents.count * 6 / 100 }
                    if day == Milestone.syncOutage + 1 { outage = dayEvents.count * 35 / 1000 }
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
                                severity: UInt8(severity), number: errorRng.between(100, 99_999),
                                outage: isOutage))
                    }
                    dayErrors.sort { $0.second != $1.second ? $0.second < $1.second : $0.user < $1.user }
                }
                desk.open(
                    day: day, activeUsers: active.count, events: dayEvents, errors: dayErrors,
                    firstErrorID: errorID + 1)

                // Write the day.
                CivilCalendar.writeDate(day, to: stamp)
                var written = 0
                while written < dayEvents.count {
                    let rows = dayEvents.count - written >= eventsPerInsert ? eventsPerInsert : 1
                    let inserter = rows == 1 ? eventSingle : eventBatch
                    for row in 0..<rows {
                        let event = dayEvents[written + row]
                        let base = Int32(row * 8)
                        eventID += 1
                        CivilCalendar.writeTime(event.second, to: stamp + 11)
                        inserter.bind(base + 1, eventID)
                        inserter.bind(base + 2, Int(event.user) + 1)
                        inserter.bind(base + 3, Int(event.workspace) + 1)
                        inserter.bind(base + 4, bytes: stamp, count: 19)
                        inserter.bind(base + 5, bytes: stamp, count: 10)
                        eventNames.bind(inserter, base + 6, Int(event.name))
                        platformNames.bind(inserter, base + 7, Int(event.platform))
                        if event.app >= 0 {
                            inserter.bind(base + 8, Int(event.app) + 1)
                        } else {
                            inserter.bindNull(base + 8)
                        }
                    }
                    try inserter.insert()
                    written += rows
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
        }
        guard eventID == total else {
            throw DemoCompanyError("wrote \(eventID) events where the plan has \(total); the day sizes are off")
        }
        progress.update("events", completed: eventID, total: total)
        progress.finish("events")
        let tickets = try desk.write(db)
        return (eventID, errorID, tickets)
    }
}

import Foundation
import GRDB
import SQLiteRows

/// Larkspur's support desk: the tickets customers open, the first response and the solution.
///
/// Tickets come from people active that day (about one a week per 20 weekly active users,
/// mostly on weekdays) and from the errors they hit: about a third of fatal errors and of the
/// sync outage's flood lead to a ticket that names its `error_logs` row. New pricing brings billing
/// questions, the app marketplace integrations ones, new users how-to ones. The desk works
/// weekdays 07:00–19:00 UTC; urgent tickets are answered around the clock within minutes, the
/// rest within business hours, slower when a burst swamps the desk. Satisfaction is mostly 4–5,
/// lower after slow answers, during the outage and at the declining majors.
struct SupportDesk {
    static let queues = ["billing", "sync", "integrations", "how-to", "bug", "account"]
    static let billing: UInt8 = 0
    static let sync: UInt8 = 1
    static let integrations: UInt8 = 2
    static let howTo: UInt8 = 3
    static let bug: UInt8 = 4
    static let account: UInt8 = 5
    static let priorities = ["low", "normal", "high", "urgent"]
    static let channels = ["email", "chat", "web"]

    /// Subjects per queue, in the order of ``queues``.
    static let subjects: [[String]] = [
        [
            "Charged twice this month", "Question about the new per-seat price", "Invoice needs our VAT number",
            "How do we switch to annual billing?", "Card declined but the card is fine", "Refund for unused seats",
            "Which plan do we need for guests?",
        ],
        [
            "Changes not syncing between devices", "Tasks missing after sync", "Sync stuck on \"updating\"",
            "Mobile app shows old data", "Edits lost after going offline", "Conflicting versions of a task",
        ],
        [
            "Slack notifications stopped", "Calendar sync shows duplicate events", "GitHub integration not linking PRs",
            "App from the marketplace asks for too many permissions", "Webhook deliveries failing",
            "How do I connect Google Drive?", "Zapier trigger not firing",
        ],
        [
            "How do I set up recurring tasks?", "Can I move a project to another team?", "How do timelines work?",
            "Import from a spreadsheet", "Best way to track time per task", "How to share a board with a client",
            "Set up templates for onboarding",
        ],
        [
            "Page won't load, spinner forever", "Error when saving a task", "Search returns nothing",
            "Due dates shift by a day", "Board crashes when dragging cards", "Attachments fail to upload",
        ],
        [
            "Can't log in after SSO change", "Transfer workspace ownership", "Remove a former employee",
            "Reset two-factor authentication", "Change the workspace domain", "Merge two accounts",
        ],
    ]

    struct Ticket {
        /// Seconds since 1970 UTC.
        var created: Int
        var workspace: Int32
        /// -1 when the ticket came from someone without an account (an email to support).
        var user: Int32
        var queue: UInt8
        var priority: UInt8
        var channel: UInt8
        var subject: UInt8
        /// Seconds since 1970 UTC, or -1 while unanswered.
        var firstResponse = -1
        /// Seconds since 1970 UTC, or -1 while open.
        var solved = -1
        /// 1–5, or 0 when not rated.
        var csat: Int8 = 0
        /// The error that led to it, or 0.
        var error: Int = 0
        /// Order of generation, to break ties.
        var sequence = 0
    }

    private let users: [UserRecord]
    private let majors: [Bool]
    private let declining: [Bool]
    private let lastSecond: Int
    private var rng: Rng
    private(set) var tickets: [Ticket] = []

    init(plan: GenerationPlan, population: Population) {
        users = population.users
        majors = population.workspaces.map { $0.tier == Tier.major }
        declining = population.workspaces.map(\.declining)
        lastSecond = plan.lastDay * 86_400 + 86_399
        rng = Rng(seed: plan.seed, stream: 12)
    }

    /// Opens the tickets of `day`, which had `activeUsers` people active: from its events
    /// (people asking) and its errors (people hit).
    mutating func open(
        day: Int, activeUsers: Int, events: [ActivityGenerator.DayEvent], errors: [ActivityGenerator.DayError],
        firstErrorID: Int
    ) {
        guard !events.isEmpty else { return }
        let dayStart = day * 86_400
        // About one ticket a week per 20 weekly active users, who come on 2.5 days a week each:
        // one per 45 active people on a weekday, fewer at weekends.
        let expected = Double(activeUsers) * (CivilCalendar.isWeekend(day) ? 0.014 : 0.022)
        var count = Int(expected)
        if rng.unit() < expected - Double(count) { count += 1 }
        let queueWeights = SupportDesk.queueWeights(on: day)
        for _ in 0..<count {
            let event = events[rng.below(events.count)]
            let user = users[Int(event.user)]
            var weights = queueWeights
            if day - user.signupDay <= 14 {
                weights[Int(SupportDesk.howTo)] *= 2.5
                weights[Int(SupportDesk.account)] *= 1.5
            }
            let queue = UInt8(rng.pick(weights))
            let major = majors[Int(event.workspace)]
            var priorityWeights: [Double] = major ? [0.15, 0.5, 0.25, 0.1] : [0.25, 0.55, 0.15, 0.05]
            if queue == SupportDesk.howTo { priorityWeights = [0.45, 0.5, 0.05, 0] }
            if queue == SupportDesk.bug || queue == SupportDesk.sync { priorityWeights[2] *= 1.6 }
            let priority = UInt8(rng.pick(priorityWeights))
            let created = dayStart + event.second + rng.between(30, 2_400)
            let anonymous = rng.chance(0.04)
            add(
                created: created, workspace: event.workspace, user: anonymous ? -1 : event.user, queue: queue,
                priority: priority, error: 0, outage: false)
        }
        for (position, error) in errors.enumerated() {
            let chance = error.outage ? 0.3 : error.severity == 2 ? 0.35 : error.severity == 1 ? 0.02 : 0.002
            guard rng.chance(chance) else { continue }
            let queue: UInt8 =
                error.service == 2 ? SupportDesk.sync : error.service == 4 ? SupportDesk.billing : SupportDesk.bug
            let priority: UInt8 =
                error.outage
                ? UInt8(rng.pick([0, 0.25, 0.5, 0.25]))
                : error.severity == 2 ? UInt8(rng.pick([0, 0.4, 0.45, 0.15])) : UInt8(rng.pick([0.1, 0.7, 0.2, 0]))
            let created = dayStart + error.second + (error.outage ? rng.between(60, 1_800) : rng.between(90, 3_600))
            add(
                created: created, workspace: error.workspace, user: error.user, queue: queue, priority: priority,
                error: firstErrorID + position, outage: error.outage)
        }
    }

    /// Queue weights of tickets people open on `day`, before who they are.
    static func queueWeights(on day: Int) -> [Double] {
        var weights: [Double] = [0.12, 0.13, 0.09, 0.32, 0.20, 0.14]
        if day >= Milestone.newPricing && day < Milestone.newPricing + 42 {
            weights[Int(billing)] *= 1 + 3 * (1 - Double(day - Milestone.newPricing) / 42)
        }
        if day >= Milestone.appMarketplace {
            weights[Int(integrations)] *= 1.6 + 2.5 * max(0, 1 - Double(day - Milestone.appMarketplace) / 56)
        }
        if day == Milestone.syncOutage || day == Milestone.syncOutage + 1 { weights[Int(sync)] *= 3 }
        return weights
    }

    /// How many times slower than usual the desk answers on `day`.
    static func backlog(on day: Int) -> Double {
        if day == Milestone.syncOutage || day == Milestone.syncOutage + 1 { return 4 }
        if day >= Milestone.newPricing && day < Milestone.newPricing + 21 { return 1.5 }
        if day >= Milestone.appMarketplace && day < Milestone.appMarketplace + 28 { return 1.4 }
        return 1
    }

    private mutating func add(
        created: Int, workspace: Int32, user: Int32, queue: UInt8, priority: UInt8, error: Int, outage: Bool
    ) {
        guard created <= lastSecond else { return }
        let channel: UInt8 = UInt8(rng.pick(priority == 3 ? [0.3, 0.6, 0.1] : [0.45, 0.33, 0.22]))
        let subjects = SupportDesk.subjects[Int(queue)]
        var ticket = Ticket(
            created: created, workspace: workspace, user: user, queue: queue, priority: priority, channel: channel,
            subject: UInt8(rng.below(subjects.count)), error: error, sequence: tickets.count)
        let backlog = SupportDesk.backlog(on: created / 86_400)
        let noise = exp(0.8 * rng.normal())
        let firstResponse: Int
        if priority == 3 {
            firstResponse = created + Int(60 * 12 * noise * backlog.squareRoot())
        } else {
            let medianMinutes: Double = priority == 2 ? 40 : priority == 1 ? 180 : 480
            let speed = channel == 1 ? 0.4 : 1
            firstResponse = SupportDesk.addingBusinessSeconds(
                Int(60 * medianMinutes * speed * noise * backlog), to: created)
        }
        if max(created + 60, firstResponse) <= lastSecond {
            ticket.firstResponse = max(created + 60, firstResponse)
            let workHours: [Double] = [5, 8, 16, 1.5, 28, 3]
            var minutes = 60 * workHours[Int(queue)] * exp(0.9 * rng.normal())
            if priority == 3 { minutes *= 0.5 }
            let solved = SupportDesk.addingBusinessSeconds(Int(60 * minutes), to: ticket.firstResponse)
            if solved <= lastSecond {
                ticket.solved = solved
                if rng.chance(0.45) {
                    let waited = Double(ticket.firstResponse - created) / 60
                    var score = 4.75 + 0.75 * rng.normal()
                    if waited > 240 { score -= 0.6 }
                    if waited > 1_440 { score -= 0.6 }
                    if solved - created > 3 * 86_400 { score -= 0.4 }
                    if outage { score -= 0.5 }
                    if declining[Int(workspace)] {
                        score -= created / 86_400 >= Milestone.declineStart - 45 ? 1.1 : 0.3
                    }
                    ticket.csat = Int8(max(1, min(5, score.rounded())))
                }
            }
        }
        tickets.append(ticket)
    }

    /// `seconds` of desk time (weekdays 07:00–19:00 UTC) after `start`.
    static func addingBusinessSeconds(_ seconds: Int, to start: Int) -> Int {
        var now = start
        var remaining = max(0, seconds)
        while true {
            let day = now / 86_400
            let second = now - day * 86_400
            if CivilCalendar.isWeekend(day) || second >= 19 * 3_600 {
                now = (day + 1) * 86_400 + 7 * 3_600
                continue
            }
            if second < 7 * 3_600 { now = day * 86_400 + 7 * 3_600 }
            let available = day * 86_400 + 19 * 3_600 - now
            if remaining <= available { return now + remaining }
            remaining -= available
            now = (day + 1) * 86_400 + 7 * 3_600
        }
    }

    /// Writes `support_tickets` in order of creation; returns the row count.
    func write(_ db: Database) throws -> Int {
        let inserter = try RowStatement(
            db, table: "support_tickets",
            columns: [
                "ticket_id", "workspace_id", "user_id", "created_at", "created_date", "queue", "priority", "channel",
                "status", "subject", "first_response_at", "first_response_minutes", "solved_at", "csat", "error_id",
            ])
        let ordered = tickets.sorted { $0.created != $1.created ? $0.created < $1.created : $0.sequence < $1.sequence }
        let queues = ByteTable(SupportDesk.queues)
        let priorities = ByteTable(SupportDesk.priorities)
        let channels = ByteTable(SupportDesk.channels)
        let statuses = ByteTable(["open", "solved"])
        let subjects = SupportDesk.subjects.map { ByteTable($0) }
        let stamp = UnsafeMutablePointer<UInt8>.allocate(capacity: 19)
        defer { stamp.deallocate() }
        func timestamp(_ seconds: Int) {
            CivilCalendar.writeDate(seconds / 86_400, to: stamp)
            stamp[10] = UInt8(ascii: " ")
            CivilCalendar.writeTime(seconds % 86_400, to: stamp + 11)
        }
        for (position, ticket) in ordered.enumerated() {
            inserter.bind(1, position + 1)
            inserter.bind(2, Int(ticket.workspace) + 1)
            if ticket.user >= 0 { inserter.bind(3, Int(ticket.user) + 1) } else { inserter.bindNull(3) }
            timestamp(ticket.created)
            inserter.bind(4, bytes: stamp, count: 19)
            inserter.bind(5, bytes: stamp, count: 10)
            queues.bind(inserter, 6, Int(ticket.queue))
            priorities.bind(inserter, 7, Int(ticket.priority))
            channels.bind(inserter, 8, Int(ticket.channel))
            statuses.bind(inserter, 9, ticket.solved >= 0 ? 1 : 0)
            subjects[Int(ticket.queue)].bind(inserter, 10, Int(ticket.subject))
            if ticket.firstResponse >= 0 {
                timestamp(ticket.firstResponse)
                inserter.bind(11, bytes: stamp, count: 19)
                inserter.bind(12, (ticket.firstResponse - ticket.created) / 60)
            } else {
                inserter.bindNull(11)
                inserter.bindNull(12)
            }
            if ticket.solved >= 0 {
                timestamp(ticket.solved)
                inserter.bind(13, bytes: stamp, count: 19)
            } else {
                inserter.bindNull(13)
            }
            if ticket.csat > 0 { inserter.bind(14, Int(ticket.csat)) } else { inserter.bindNull(14) }
            if ticket.error > 0 { inserter.bind(15, ticket.error) } else { inserter.bindNull(15) }
            try inserter.insert()
        }
        return ordered.count
    }
}

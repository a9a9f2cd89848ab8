public import AlmanacCore
public import Catalog
import Charts
public import Foundation
public import Logging
public import Rendering
public import Scheduling
public import Storage
public import Warehouse

/// Where and how messages go out, from the environment.
///
/// - Configuration keys: `ALMANAC_PUBLIC_URL` (the portal's address in links), the
///   `ALMANAC_SMTP_*` keys of ``SMTPConfiguration`` (without `ALMANAC_SMTP_URL`, e-mail is
///   written as `.eml` files to the outbox folder instead), `ALMANAC_TASKS_URL` (where task
///   actions POST, unless a trigger names its own `url`) and `ALMANAC_TASKS_TOKEN` (a bearer
///   token for it).
public struct DeliveryConfiguration: Sendable {
    public var baseURL: String
    public var from: String
    public var mail: MailTransport
    public var taskURL: String?
    public var taskToken: String?
    public var retry: RetryPolicy
    /// How webhooks and tasks are posted (their time limit).
    public var webhooks: WebhookSender

    public init(
        baseURL: String, from: String, mail: MailTransport, taskURL: String? = nil, taskToken: String? = nil,
        retry: RetryPolicy = RetryPolicy(), webhooks: WebhookSender = WebhookSender()
    ) {
        self.baseURL = baseURL
        self.from = from
        self.mail = mail
        self.taskURL = taskURL
        self.taskToken = taskToken
        self.retry = retry
        self.webhooks = webhooks
    }

    /// From `settings` (`ALMANAC_*`); `defaultBaseURL` is where this portal listens, `outbox`
    /// the folder for e-mail when no SMTP server is configured.
    public static func from(
        _ settings: Settings = .process, defaultBaseURL: String, outbox: String, companyDomain: String?
    ) throws(MailError) -> DeliveryConfiguration {
        let baseURL = settings[.publicURL] ?? defaultBaseURL
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else {
            throw MailError("ALMANAC_PUBLIC_URL '\(baseURL)' is not an http:// or https:// URL")
        }
        if let taskURL = settings[.tasksURL], !(taskURL.hasPrefix("http://") || taskURL.hasPrefix("https://")) {
            throw MailError("ALMANAC_TASKS_URL '\(taskURL)' is not an http:// or https:// URL")
        }
        let smtp = try SMTPConfiguration.from(settings)
        let from = smtp?.from ?? "almanac@\(companyDomain ?? "localhost")"
        return DeliveryConfiguration(
            baseURL: baseURL, from: from, mail: smtp.map { .smtp(SMTPMailer(configuration: $0)) } ?? .folder(outbox),
            taskURL: settings[.tasksURL], taskToken: settings[.tasksToken])
    }
}

extension DeliveryConfiguration {
    /// Where e-mail is written without an SMTP server: `outbox/` beside a SQLite state file,
    /// or `var/outbox` (in the working directory) beside a PostgreSQL state store.
    public static func outbox(forState location: String) -> String {
        if StoreLocation.isPostgres(location) { return "var/outbox" }
        let path = StoreLocation.sqlitePath(location)
        return ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("outbox")
    }
}

extension Settings.Key {
    /// The portal's address in links sent out (default: where it listens).
    public static let publicURL: Self = "PUBLIC_URL"
    /// Where task actions POST, unless a trigger names its own `url`, and its bearer token.
    public static let tasksURL: Self = "TASKS_URL"
    public static let tasksToken: Self = "TASKS_TOKEN"
    /// The SMTP server and its account (see ``SMTPConfiguration``).
    public static let smtpURL: Self = "SMTP_URL"
    public static let smtpUser: Self = "SMTP_USER"
    public static let smtpPassword: Self = "SMTP_PASSWORD"
    public static let smtpFrom: Self = "SMTP_FROM"
    public static let smtpTLS: Self = "SMTP_TLS"
}

/// What one run of a job would send: the deliveries, and for triggers each entity's firing.
public struct DeliveryPlan: Sendable {
    public struct Firing: Sendable {
        public var firing: TriggerFiring
        public var deliveries: [DeliveryRecord]
        /// The trigger already fired for this entity within its cooldown: nothing is sent.
        public var coolingDown: Bool
    }
    public var job: String
    public var scheduledFor: Date
    /// Subscriptions: one per recipient (skipped ones say why).
    public var deliveries: [DeliveryRecord]
    /// Triggers: one per entity whose condition held.
    public var firings: [Firing]
    public var summary: String
}

/// Turns the catalog's subscriptions and triggers into scheduled jobs, and a job's run into
/// deliveries in the outbox.
public final class DeliveryService: Sendable {
    public let catalog: CatalogStore
    public let state: any StateStore
    public let warehouse: (any Warehouse)?
    public let renderer: PageRenderer
    public let configuration: DeliveryConfiguration
    public let logger: Logger
    /// The data's last day for every run (`--as-of`); `nil`: the day before each run's scheduled
    /// date in the catalog's time zone, so a late or repeated run composes the same period.
    public let asOf: CalendarDay?
    let clock: any WallClock

    public init(
        catalog: CatalogStore, state: any StateStore, warehouse: (any Warehouse)?, renderer: PageRenderer,
        configuration: DeliveryConfiguration, logger: Logger,
        asOf: CalendarDay? = nil,
        clock: any WallClock = SystemClock()
    ) {
        self.catalog = catalog
        self.state = state
        self.warehouse = warehouse
        self.renderer = renderer
        self.configuration = configuration
        self.logger = logger
        self.asOf = asOf
        self.clock = clock
    }

    /// Hands stored deliveries to the configured transports.
    public var sender: DeliverySender {
        DeliverySender(
            mail: configuration.mail, webhooks: configuration.webhooks, taskURL: configuration.taskURL,
            taskToken: configuration.taskToken)
    }

    /// `subscription/<id>` or `trigger/<id>`.
    public static func jobID(_ key: ItemKey) -> String { "\(key.kind.rawValue)/\(key.id)" }

    /// The catalog item a job id names.
    public static func item(ofJob id: String) -> ItemKey? {
        let parts = id.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = ItemKind(rawValue: parts[0]), kind == .subscription || kind == .trigger
        else { return nil }
        return ItemKey(kind, parts[1])
    }

    /// One job per subscription and trigger in the catalog, in the catalog's time zone; each
    /// starts from when the portal first saw its item, so nothing older is caught up.
    public func jobs() async -> [ScheduledJob] {
        let catalog = self.catalog.current
        let timeZone = TimeZone(identifier: catalog.settings.timezone) ?? .gmt
        var firstSeen: [ItemKey: Date] = [:]
        for kind in [ItemKind.subscription, .trigger] {
            for record in (try? await state.catalogItemRecords(kind: kind.rawValue)) ?? [] {
                firstSeen[ItemKey(kind, record.id)] = record.firstSeenAt
            }
        }
        let items =
            catalog.subscriptions.map { (ItemKey(.subscription, $0.id.rawValue), $0.schedule) }
            + catalog.triggers.map { (ItemKey(.trigger, $0.id.rawValue), $0.schedule) }
        return items.compactMap { key, expression in
            guard let schedule = try? CronSchedule(parsing: expression) else { return nil }
            let id = Self.jobID(key)
            return ScheduledJob(id: id, schedule: schedule, timeZone: timeZone, since: firstSeen[key] ?? clock.date) {
                [self] time, late in try await self.run(job: id, scheduledFor: time, late: late)
            }
        }
    }

    /// Composes the job's run and adds it to the outbox; returns a line for the run log.
    public func run(job id: String, scheduledFor: Date, late: Bool) async throws -> String {
        // A trigger that cannot deliver must not fire: its cooldown would swallow the task.
        if let key = Self.item(ofJob: id), key.kind == .trigger,
            let trigger = catalog.current.triggers.first(where: { $0.id.rawValue == key.id }),
            trigger.action.kind == .task, trigger.action.url ?? configuration.taskURL == nil
        {
            throw DeliveryError(
                "trigger '\(trigger.id)' creates tasks, but no task tracker is configured: set ALMANAC_TASKS_URL or the action's url"
            )
        }
        let plan = try await plan(job: id, scheduledFor: scheduledFor, late: late, checkCooldowns: false)
        if plan.firings.isEmpty {
            let added = try await state.enqueueDeliveries(plan.deliveries)
            return plan.summary
                + (added < plan.deliveries.count ? " (\(plan.deliveries.count - added) already queued)" : "")
        }
        var fired = 0
        var quiet = 0
        for firing in plan.firings {
            if try await state.fireTrigger(firing.firing, deliveries: firing.deliveries) {
                fired += 1
            } else {
                quiet += 1
            }
        }
        return plan.summary + "; \(fired) fired, \(quiet) still cooling down"
    }

    /// What the job would send for `scheduledFor`, without writing anything. With
    /// `checkCooldowns`, firings the state store would refuse are marked.
    public func plan(
        job id: String, scheduledFor: Date, late: Bool, checkCooldowns: Bool = true
    ) async throws
        -> DeliveryPlan
    {
        let catalog = self.catalog.current
        guard let key = Self.item(ofJob: id) else {
            throw DeliveryError("'\(id)' is not a job: use subscription/<id> or trigger/<id>")
        }
        guard let warehouse else {
            throw DeliveryError("no warehouse is configured, so '\(id)' has no numbers to send")
        }
        switch key.kind {
        case .subscription:
            guard let subscription = catalog.subscriptions.first(where: { $0.id.rawValue == key.id }) else {
                throw DeliveryError("subscription '\(key.id)' is not in the catalog")
            }
            return try await plan(subscription, job: id, scheduledFor: scheduledFor, late: late, catalog, warehouse)
        default:
            guard let trigger = catalog.triggers.first(where: { $0.id.rawValue == key.id }) else {
                throw DeliveryError("trigger '\(key.id)' is not in the catalog")
            }
            var plan = try await plan(trigger, job: id, scheduledFor: scheduledFor, catalog, warehouse)
            if checkCooldowns {
                let recent = try await state.triggerFirings(trigger: trigger.id.rawValue, limit: 10_000)
                for index in plan.firings.indices {
                    let entity = plan.firings[index].firing.entityKey
                    let until = plan.firings[index].firing.cooldownUntil
                    plan.firings[index].coolingDown = recent.contains {
                        $0.entityKey == entity && $0.firedAt < until && $0.cooldownUntil > scheduledFor
                    }
                }
            }
            return plan
        }
    }

    /// The last day of data a run scheduled for `date` reads.
    public func dataDay(for date: Date, _ catalog: Catalog) -> CalendarDay {
        if let asOf { return asOf }
        return CalendarDay.yesterday(now: date, in: TimeZone(identifier: catalog.settings.timezone) ?? .gmt)
    }

    // MARK: - Subscriptions

    private func plan(
        _ subscription: Subscription, job: String, scheduledFor: Date, late: Bool, _ catalog: Catalog,
        _ warehouse: any Warehouse
    ) async throws -> DeliveryPlan {
        let data = try await DigestComposer(catalog: catalog, warehouse: warehouse).compose(
            subscription, asOf: dataDay(for: scheduledFor, catalog))
        let builder = DigestMessageBuilder(catalog: catalog, renderer: renderer, baseURL: configuration.baseURL)
        let created = clock.date
        var deliveries: [DeliveryRecord] = []
        func record(
            _ channel: DeliveryRecord.Channel, _ recipient: String, subject: String, payload: String,
            skipped: String? = nil
        ) {
            let key = Self.key(job: job, scheduledFor: scheduledFor, parts: [recipient])
            deliveries.append(
                DeliveryRecord(
                    key: key, job: job, scheduledFor: scheduledFor, channel: channel, recipient: recipient,
                    subject: subject, payload: payload, status: skipped == nil ? .pending : .skipped,
                    nextAttemptAt: created, lastError: skipped, createdAt: created))
        }
        switch subscription.channel {
        case .email:
            for recipient in RecipientDirectory(catalog: catalog).resolve(subscription.recipients) {
                let key = Self.key(job: job, scheduledFor: scheduledFor, parts: [recipient.address])
                switch builder.message(
                    data, subscription: subscription, for: recipient, from: configuration.from,
                    messageID: Self.messageID(key), late: late, date: created)
                {
                case .success(let message):
                    record(.email, recipient.address, subject: message.subject, payload: Self.json(message))
                case .failure(let refusal):
                    // Kept in the log so owners see who was left out, without the content.
                    record(
                        .email, recipient.address, subject: subscription.title, payload: "{}",
                        skipped: "not sent: \(recipient.address) \(refusal)")
                }
            }
        case .webhook:
            let body = JSONValue.object(builder.webhookBody(data, subscription: subscription, late: late))
            for case .url(let url) in subscription.recipients {
                record(
                    .webhook, url, subject: "\(subscription.title): \(data.period.label)",
                    payload: Self.json(WebhookPayload(url: url, body: body)))
            }
        }
        let pending = deliveries.filter { $0.status == .pending }.count
        let skipped = deliveries.count - pending
        return DeliveryPlan(
            job: job, scheduledFor: scheduledFor, deliveries: deliveries, firings: [],
            summary: "\(data.period.label): \(pending) to send"
                + (skipped > 0 ? ", \(Formatter.count(skipped, "recipient")) without access left out" : "")
                + (late ? " (late)" : ""))
    }

    // MARK: - Triggers

    private func plan(
        _ trigger: Trigger, job: String, scheduledFor: Date, _ catalog: Catalog, _ warehouse: any Warehouse
    ) async throws -> DeliveryPlan {
        guard let entity = catalog.entity(trigger.entity) else {
            throw DeliveryError("trigger '\(trigger.id)' names entity '\(trigger.entity)', which is not in the catalog")
        }
        let taskURL = trigger.action.url ?? configuration.taskURL
        let noTracker =
            trigger.action.kind == .task && taskURL == nil
            ? "no task tracker is configured: set ALMANAC_TASKS_URL or the action's url" : nil
        let evaluator = TriggerEvaluator(catalog: catalog, warehouse: warehouse)
        let evaluation = try await evaluator.evaluate(trigger, asOf: dataDay(for: scheduledFor, catalog))
        let assignees = try await assignees(trigger, entity: entity, hits: evaluation.hits, catalog, warehouse)
        let metric = catalog.metric(trigger.metric)
        let created = clock.date
        let builder = DigestMessageBuilder(catalog: catalog, renderer: renderer, baseURL: configuration.baseURL)
        var firings: [DeliveryPlan.Firing] = []
        for hit in evaluation.hits {
            let title = evaluator.title(trigger, hit: hit)
            let path = Route.templateWith(entity.template, parameter: entity.parameter, value: hit.linkValue).path
            let numbers = Self.numbers(trigger, hit: hit, evaluation: evaluation, metric: metric)
            let firing = TriggerFiring(
                trigger: trigger.id.rawValue, entityKey: hit.key, entityLabel: hit.label, firedAt: scheduledFor,
                cooldownUntil: scheduledFor.addingTimeInterval(TimeInterval(trigger.cooldown.seconds)),
                detail: numbers)
            var deliveries: [DeliveryRecord] = []
            func add(_ channel: DeliveryRecord.Channel, _ recipient: String, payload: String, skipped: String? = nil) {
                deliveries.append(
                    DeliveryRecord(
                        key: Self.key(job: job, scheduledFor: scheduledFor, parts: [hit.key, recipient]), job: job,
                        scheduledFor: scheduledFor, channel: channel, recipient: recipient, subject: title,
                        payload: payload, status: skipped == nil ? .pending : .skipped, nextAttemptAt: created,
                        lastError: skipped, createdAt: created))
            }
            let dashboard = configuration.baseURL + path
            let event: [String: JSONValue] = [
                "trigger": .string(trigger.id.rawValue), "title": .string(title),
                "entity": .object([
                    "kind": .string(entity.id.rawValue), "key": .string(hit.key), "label": .string(hit.label),
                    "url": .string(dashboard),
                ]),
                "metric": .string(trigger.metric.rawValue), "measure": .string(trigger.condition.measure.rawValue),
                "value": hit.current.map(JSONValue.number) ?? .null,
                "previous": hit.previous.map(JSONValue.number) ?? .null, "measured": .number(hit.measured),
                "threshold": .number(trigger.condition.threshold),
                "window": .string("\(evaluation.window.start)..\(evaluation.window.end)"),
                "fired_at": .string(Self.iso(scheduledFor)),
            ]
            switch trigger.action.kind {
            case .task:
                // The task shows the numbers and the entity: an assignee who may not see them gets
                // no task in their name; it is left for the tracker's triage, and the notes say why.
                var assignee = assignees[hit.key]
                var assigneeNote = ""
                if let person = assignee {
                    let view = CatalogView(catalog, viewer: RecipientDirectory(catalog: catalog).viewer(for: person))
                    if !(view.canSeeNumbers(of: trigger.metric) && view.entity(entity.id) != nil) {
                        assignee = nil
                        assigneeNote =
                            "\n\nNot assigned to \(person), who may not see this metric or \(entity.name.lowercased())."
                    }
                }
                let due: CalendarDay? = CalendarDay(
                    scheduledFor.addingTimeInterval(TimeInterval(trigger.action.due.seconds)))
                // The shape of Asana's "create a task" (POST /tasks, {"data": {...}}); trackers
                // with another shape take it through a small adapter.
                var data: [String: JSONValue] = [
                    "name": .string(title),
                    "notes": .string(
                        "\(numbers)\n\nOpen \(entity.name.lowercased()) \(hit.label): \(dashboard)\(assigneeNote)\n\n"
                            + "Created by Almanac trigger '\(trigger.title)' (\(trigger.id)). It will not create another task for \(hit.label) until \(Self.iso(firing.cooldownUntil))."
                    ),
                    "due_on": due.map { JSONValue.string($0.description) } ?? .null,
                ]
                data["assignee"] = assignee.map(JSONValue.string) ?? .null
                let key = Self.key(job: job, scheduledFor: scheduledFor, parts: [hit.key, taskURL ?? ""])
                data["external"] = .object(["gid": .string(key), "data": .object(event)])
                add(
                    .task, taskURL ?? "(no task tracker)",
                    payload: Self.json(WebhookPayload(url: taskURL ?? "", body: .object(["data": .object(data)]))),
                    skipped: noTracker)
            case .webhook:
                let url = trigger.action.url ?? ""
                add(.webhook, url, payload: Self.json(WebhookPayload(url: url, body: .object(event))))
            case .email:
                for recipient in RecipientDirectory(catalog: catalog).resolve(trigger.action.recipients) {
                    let view = CatalogView(catalog, viewer: recipient.viewer)
                    guard view.canSee(trigger), view.canSeeNumbers(of: trigger.metric), view.entity(entity.id) != nil
                    else {
                        add(
                            .email, recipient.address, payload: "{}",
                            skipped: "not sent: \(recipient.address) may not see this trigger, its metric or its entity"
                        )
                        continue
                    }
                    let key = Self.key(job: job, scheduledFor: scheduledFor, parts: [hit.key, recipient.address])
                    let message = builder.alert(
                        title: title, numbers: numbers, entity: entity, hit: hit, link: builder.link(path),
                        trigger: trigger, to: recipient, from: configuration.from, messageID: Self.messageID(key),
                        date: created)
                    add(.email, recipient.address, payload: Self.json(message))
                }
            }
            firings.append(DeliveryPlan.Firing(firing: firing, deliveries: deliveries, coolingDown: false))
        }
        return DeliveryPlan(
            job: job, scheduledFor: scheduledFor, deliveries: [], firings: firings,
            summary:
                "checked \(evaluation.checked) \(entity.name.lowercased()) values over \(evaluation.window.start)..\(evaluation.window.end); condition held for \(evaluation.hits.count)"
        )
    }

    /// Each hit's assignee e-mail: from a column (the entity's source, or another source keyed
    /// by the entity's key, such as the CRM's account owner), or a team's lead.
    private func assignees(
        _ trigger: Trigger, entity: Entity, hits: [TriggerHit], _ catalog: Catalog, _ warehouse: any Warehouse
    ) async throws -> [String: String] {
        switch trigger.action.assignee {
        case .team(let id)?:
            guard let team = catalog.team(id) else { return [:] }
            let lead =
                team.members.first { $0.role == .lead && $0.email != nil } ?? team.members.first { $0.email != nil }
            guard let email = lead?.email ?? team.email else { return [:] }
            return Dictionary(uniqueKeysWithValues: hits.map { ($0.key, email) })
        case .column(let column, let other)?:
            guard !hits.isEmpty, let source = catalog.source(other ?? entity.source) else { return [:] }
            var result: [String: String] = [:]
            // In batches: every database takes a few hundred bound values.
            for start in stride(from: 0, to: hits.count, by: 500) {
                let keys = hits[start..<min(hits.count, start + 500)].map { FilterValue.string($0.key) }
                let rows = try await EntityLookup.columns(
                    [entity.key, column], of: source, where: [Filter(column: entity.key, op: .in, value: .list(keys))],
                    catalog: catalog, warehouse: warehouse)
                for row in rows { if let key = row[0], let email = row[1], !email.isEmpty { result[key] = email } }
            }
            return result
        case nil:
            return [:]
        }
    }

    static func numbers(_ trigger: Trigger, hit: TriggerHit, evaluation: TriggerEvaluation, metric: Metric?) -> String {
        let name = metric?.name ?? trigger.metric.rawValue
        let style = DigestMessageBuilder.style(metric?.format ?? .number)
        func text(_ value: Double?) -> String {
            value.map { NumberFormat.format($0, style: style, compact: false) } ?? "–"
        }
        // A rolling metric (weekly actives) is read on the window's last day; others over the window.
        let rolling = metric?.type == .rollingDistinct
        let window =
            rolling ? "on \(evaluation.window.end)" : "in \(evaluation.window.start)..\(evaluation.window.end)"
        let previous =
            rolling
            ? "on \(evaluation.previousWindow.end)"
            : "in \(evaluation.previousWindow.start)..\(evaluation.previousWindow.end)"
        let condition =
            "\(trigger.condition.measure.rawValue) \(trigger.condition.op.rawValue) \(trigger.condition.threshold)"
        switch trigger.condition.measure {
        case .value:
            return "\(name) for \(hit.label): \(text(hit.current)) \(window) (fires when \(condition))."
        case .change, .pctChange:
            let change =
                trigger.condition.measure == .pctChange
                ? NumberFormat.format(hit.measured, style: .percent, compact: false) : text(hit.measured)
            return
                "\(name) for \(hit.label): \(text(hit.current)) \(window), against \(text(hit.previous)) \(previous): \(change) (fires when \(condition))."
        }
    }

    // MARK: - Keys and encoding

    /// Unique per message: the job, its scheduled time, and what makes the message distinct.
    static func key(job: String, scheduledFor: Date, parts: [String]) -> String {
        ([job, iso(scheduledFor)] + parts).joined(separator: "|")
    }

    /// A Message-ID derived from the idempotency key, so a resend carries the same one.
    static func messageID(_ key: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var second: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in key.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            second = (second &* 31) &+ UInt64(byte)
        }
        return String(format: "%016llx%016llx@almanac", hash, second)
    }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// A job cannot be composed; the text says why.
public struct DeliveryError: Error, CustomStringConvertible, Sendable, AlmanacError {
    public var description: String
    public var userMessage: String { description }
    public var hint: String? { nil }
    public init(_ description: String) { self.description = description }
}

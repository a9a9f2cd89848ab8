import AlmanacCore
import Catalog
import Delivery
import Foundation
import Generators
import Lifecycle
import Pages
import Rendering
import Scheduling
import Storage

/// The admin page of push delivery: the scheduled jobs and their last runs, the outbox with
/// every attempt, and recent trigger firings.
struct AdminDeliveriesModel: Encodable, Sendable {
    struct Count: Encodable, Sendable {
        var status: String
        var count: Int
        var url: String
        var selected: Bool
    }
    struct Job: Encodable, Sendable {
        var id: String
        var title: String
        var schedule: String
        var lastRun: String?
        var lastStatus: String?
        var lastDetail: String?
        var late: Bool
        var failed: Bool
    }
    struct Attempt: Encodable, Sendable {
        var number: Int
        var at: String
        var outcome: String
        var instance: String
        var error: String?
    }
    struct Row: Encodable, Sendable {
        var id: Int64
        var job: String
        var scheduledFor: String
        var channel: String
        var recipient: String
        var subject: String
        var status: String
        var attempts: Int
        var nextAttempt: String?
        var sentAt: String?
        var error: String?
        var key: String
        var history: [Attempt]
    }
    struct Firing: Encodable, Sendable {
        var trigger: String
        var entity: String
        var firedAt: String
        var quietUntil: String
        var detail: String?
    }
    var transport: String
    var counts: [Count]
    var filter: String?
    var jobs: [Job]
    var deliveries: [Row]
    var firings: [Firing]
}

enum DeliveryPages {
    static func model(
        environment: PortalEnvironment, delivery: DeliveryService?, view: CatalogView, status: DeliveryRecord.Status?,
        job: String?
    ) async throws -> AdminDeliveriesModel {
        let catalog = view.catalog
        let formatter = Formatter(
            timeZone: TimeZone(identifier: catalog.settings.timezone) ?? .gmt, now: environment.now())
        let state = environment.state
        let counts = try await state.deliveryStatusCounts()
        var jobs: [AdminDeliveriesModel.Job] = []
        // Every job of the scheduler: digests and triggers, the retirement review, and each
        // report's generation when this portal generates.
        var items =
            catalog.subscriptions.map {
                (DeliveryService.jobID(ItemKey(.subscription, $0.id.rawValue)), $0.title, $0.schedule)
            }
            + catalog.triggers.map { (DeliveryService.jobID(ItemKey(.trigger, $0.id.rawValue)), $0.title, $0.schedule) }
        items.append((RetirementReviewer.jobID, "Retirement review", "0 * * * *"))
        if environment.scheduledGeneration != nil {
            items += ScheduledGeneration.scheduledReports(catalog).map { report, schedule in
                (ScheduledGeneration.jobID(report.id), "Generate \(report.title)", schedule.description)
            }
        }
        for (id, title, schedule) in items {
            let last = try await state.lastJobRun(job: id)
            jobs.append(
                AdminDeliveriesModel.Job(
                    id: id, title: title, schedule: Formatter.cronText(schedule, timeZone: catalog.settings.timezone),
                    lastRun: last.map { formatter.dateTime($0.scheduledFor) }, lastStatus: last?.status.rawValue,
                    lastDetail: last?.detail, late: last?.late ?? false,
                    failed: last?.status == .failed || last?.status == .missed))
        }
        var rows: [AdminDeliveriesModel.Row] = []
        for record in try await state.deliveries(DeliveryQuery(job: job, status: status, limit: 200)) {
            guard let id = record.id else { continue }
            let history = record.attempts > 0 ? try await state.deliveryAttempts(id: id) : []
            rows.append(
                AdminDeliveriesModel.Row(
                    id: id, job: record.job, scheduledFor: formatter.dateTime(record.scheduledFor),
                    channel: record.channel.rawValue, recipient: record.recipient, subject: record.subject,
                    status: record.status.rawValue, attempts: record.attempts,
                    nextAttempt: record.status == .pending ? formatter.dateTime(record.nextAttemptAt) : nil,
                    sentAt: record.sentAt.map(formatter.dateTime), error: record.lastError, key: record.key,
                    history: history.map {
                        AdminDeliveriesModel.Attempt(
                            number: $0.attempt, at: formatter.dateTime($0.startedAt), outcome: $0.outcome.rawValue,
                            instance: $0.instance, error: $0.error)
                    }))
        }
        let firings = try await state.triggerFirings(trigger: nil, limit: 50).map {
            AdminDeliveriesModel.Firing(
                trigger: $0.trigger, entity: $0.entityLabel, firedAt: formatter.dateTime($0.firedAt),
                quietUntil: formatter.dateTime($0.cooldownUntil), detail: $0.detail)
        }
        return AdminDeliveriesModel(
            transport: delivery?.configuration.mail.displayName ?? "not configured (no warehouse)",
            counts: DeliveryRecord.Status.allCases.map {
                AdminDeliveriesModel.Count(
                    status: $0.rawValue, count: counts[$0] ?? 0, url: "/admin/deliveries?status=\($0.rawValue)",
                    selected: $0 == status)
            }, filter: status?.rawValue ?? job, jobs: jobs, deliveries: rows, firings: firings)
    }
}

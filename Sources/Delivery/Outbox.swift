public import AlmanacCore
public import Foundation
public import Logging
public import Prometheus
public import Scheduling
public import ServiceLifecycle
public import Storage

/// When a failed delivery is tried again: after `base`, then twice as long each time, never
/// more than `cap` apart, and at most `maxAttempts` times in all.
public struct RetryPolicy: Sendable, Hashable {
    public var base: TimeInterval
    public var cap: TimeInterval
    public var maxAttempts: Int

    public init(base: TimeInterval = 60, cap: TimeInterval = 3600, maxAttempts: Int = 8) {
        self.base = base
        self.cap = cap
        self.maxAttempts = maxAttempts
    }

    /// The wait after failed attempt number `attempt` (1 for the first), or `nil` to give up.
    public func delay(after attempt: Int) -> TimeInterval? {
        guard attempt < maxAttempts else { return nil }
        return min(cap, base * pow(2, Double(max(0, attempt - 1))))
    }
}

/// Counters for `/metrics`: deliveries sent, failed for good and retried, per channel.
public struct DeliveryMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        // Every series exists from the start, so dashboards and alerts see zeros, not gaps.
        for channel in DeliveryRecord.Channel.allCases {
            for outcome in DeliveryAttempt.Outcome.allCases { _ = counter(channel, outcome) }
        }
    }

    func counter(_ channel: DeliveryRecord.Channel, _ outcome: DeliveryAttempt.Outcome) -> Counter {
        let name: String =
            switch outcome {
            case .sent: "sent"
            case .failed: "failed"
            case .retry: "retried"
            }
        let help: String =
            switch outcome {
            case .sent: "Messages handed to the mail server, webhook or task tracker."
            case .failed: "Messages given up on: refused for good, or out of retries."
            case .retry: "Failed attempts that will be tried again later."
            }
        // almanac_deliveries_sent_total{channel="email"}
        let descriptor = MetricNameDescriptor(
            namespace: "almanac", subsystem: "deliveries", metricName: name, unitName: "total", helpText: help)
        return registry.makeCounter(descriptor: descriptor, labels: [("channel", channel.rawValue)])
    }

    func record(_ channel: DeliveryRecord.Channel, _ outcome: DeliveryAttempt.Outcome) {
        counter(channel, outcome).increment()
    }
}

/// Sends what is in the outbox: leases due deliveries, hands each to its transport, and
/// records every attempt; failures are retried with exponential backoff up to a cap.
///
/// Several instances may run against one state store: a lease makes each delivery one
/// instance's at a time, and an expired lease (its instance stopped) is taken over. A
/// message handed over just before an instance stopped may go out twice; it carries the
/// same Message-ID or `Idempotency-Key` both times, for the receiver to deduplicate.
public final class DeliveryWorker: Service, Sendable {
    public let state: any StateStore
    public let sender: DeliverySender
    public let retry: RetryPolicy
    public let metrics: DeliveryMetrics?
    public let logger: Logger
    public let instance: String
    public let tick: Duration
    /// How long a lease lasts; longer than any one send may take.
    public let lease: TimeInterval
    let clock: any WallClock

    public init(
        state: any StateStore, sender: DeliverySender, retry: RetryPolicy = RetryPolicy(),
        metrics: DeliveryMetrics? = nil, logger: Logger, instance: String = JobScheduler.defaultInstance,
        tick: Duration = .seconds(2), lease: TimeInterval = 300, clock: any WallClock = SystemClock()
    ) {
        self.state = state
        self.sender = sender
        self.retry = retry
        self.metrics = metrics
        self.logger = logger
        self.instance = instance
        self.tick = tick
        self.lease = lease
        self.clock = clock
    }

    /// Sends every delivery due now (of one job, when given); returns the deliveries attempted.
    @discardableResult
    public func sendDue(limit: Int = 50, job: String? = nil) async throws -> [DeliveryRecord] {
        let date = clock.date
        let due = try await state.claimDueDeliveries(
            instance: instance, now: date, until: date.addingTimeInterval(lease), limit: limit, job: job)
        for delivery in due { await attempt(delivery) }
        return due
    }

    /// One attempt at `delivery`, which this instance has leased.
    func attempt(_ delivery: DeliveryRecord) async {
        guard let id = delivery.id else { return }
        // The batch shares one lease; each attempt extends it first, so a slow batch cannot
        // outlive its lease and have another instance send the same message meanwhile.
        do {
            let date = clock.date
            guard
                try await state.renewDeliveryLease(
                    id: id, instance: instance, now: date, until: date.addingTimeInterval(lease))
            else {
                logger.warning("a delivery's lease expired before its attempt", metadata: ["delivery": "\(id)"])
                return
            }
        } catch {
            logger.error("could not renew a delivery's lease", metadata: ["delivery": "\(id)", "error": "\(error)"])
            return
        }
        let started = clock.date
        let number = delivery.attempts + 1
        var record = DeliveryAttempt(
            deliveryID: id, attempt: number, instance: instance, startedAt: started, finishedAt: started, outcome: .sent
        )
        var status = DeliveryRecord.Status.sent
        var next: Date?
        do {
            try await sender.send(delivery)
        } catch {
            record.error = error.description
            if case .temporary = error, let delay = retry.delay(after: number) {
                record.outcome = .retry
                status = .pending
                next = clock.date.addingTimeInterval(delay)
            } else {
                record.outcome = .failed
                status = .failed
                if case .temporary = error { record.error = "\(error.description) (gave up after \(number) attempts)" }
            }
        }
        record.finishedAt = clock.date
        do {
            let recorded = try await state.finishDeliveryAttempt(record, status: status, nextAttemptAt: next)
            guard recorded else {
                logger.warning("a delivery's lease expired during its attempt", metadata: ["delivery": "\(id)"])
                return
            }
        } catch {
            logger.error("could not record a delivery attempt", metadata: ["delivery": "\(id)", "error": "\(error)"])
            return
        }
        metrics?.record(delivery.channel, record.outcome)
        let metadata: Logger.Metadata = [
            "delivery": "\(id)", "job": "\(delivery.job)", "channel": "\(delivery.channel.rawValue)",
            "attempt": "\(number)",
        ]
        switch record.outcome {
        case .sent: logger.info("delivered", metadata: metadata)
        case .retry:
            logger.warning(
                "delivery failed; will retry",
                metadata: metadata.merging(["error": "\(record.error ?? "")", "next": "\(next.map { "\($0)" } ?? "")"])
                {
                    $1
                })
        case .failed:
            logger.error(
                "delivery failed for good", metadata: metadata.merging(["error": "\(record.error ?? "")"]) { $1 })
        }
    }

    /// Sends what is due every `tick` on the clock until a graceful shutdown; the first time at once.
    public func run() async throws {
        var ticker = Ticker(every: tick, on: clock)
        repeat {
            do {
                // Drain what is due before sleeping, a batch at a time.
                while try await !sendDue().isEmpty, !Task.isShuttingDownGracefully {}
            } catch {
                logger.error("delivery worker could not read the outbox", metadata: ["error": "\(error)"])
            }
        } while await ticker.tick()
    }
}

/// Hands one stored delivery to its transport.
public struct DeliverySender: Sendable {
    public let mail: MailTransport
    public let webhooks: WebhookSender
    /// Sent as a bearer token with task deliveries to ``taskURL``'s origin (`ALMANAC_TASKS_TOKEN`);
    /// never stored, and never sent to a URL a catalog file chose on another host.
    public let taskToken: String?
    public let taskURL: String?

    public init(
        mail: MailTransport, webhooks: WebhookSender = WebhookSender(), taskURL: String? = nil,
        taskToken: String? = nil
    ) {
        self.mail = mail
        self.webhooks = webhooks
        self.taskURL = taskURL
        self.taskToken = taskToken
    }

    /// The token for `url`: only when it has the configured tracker's scheme, host and port.
    public func bearer(for url: String) -> String? {
        guard let taskToken, let taskURL, let configured = URLComponents(string: taskURL),
            let target = URLComponents(string: url)
        else { return nil }
        func origin(_ c: URLComponents) -> String {
            let port = c.port ?? (c.scheme?.lowercased() == "https" ? 443 : 80)
            return "\(c.scheme?.lowercased() ?? "")://\(c.host?.lowercased() ?? ""):\(port)"
        }
        return origin(configured) == origin(target) ? taskToken : nil
    }

    public func send(_ delivery: DeliveryRecord) async throws(TransportError) {
        switch delivery.channel {
        case .email:
            guard let message = try? JSONDecoder().decode(MailMessage.self, from: Data(delivery.payload.utf8)) else {
                throw .permanent("the stored message cannot be read")
            }
            try await mail.send(message)
        case .webhook, .task:
            guard let post = try? JSONDecoder().decode(WebhookPayload.self, from: Data(delivery.payload.utf8)) else {
                throw .permanent("the stored webhook call cannot be read")
            }
            try await webhooks.post(
                post.body.serialized, to: post.url, idempotencyKey: delivery.key,
                bearer: delivery.channel == .task ? bearer(for: post.url) : nil)
        }
    }
}

/// A stored webhook call: where it goes and the JSON it sends.
public struct WebhookPayload: Sendable, Hashable, Codable {
    public var url: String
    public var body: JSONValue

    public init(url: String, body: JSONValue) {
        self.url = url
        self.body = body
    }
}

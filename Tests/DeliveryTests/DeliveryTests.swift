import AlmanacCore
import AlmanacTestSupport
import Catalog
import Charts
import Delivery
import Foundation
import Logging
import Prometheus
import Rendering
import Scheduling
import Storage
import Synchronization
import Testing
import Warehouse

/// A copy of the demo catalog, a fresh state store and the tiny demo warehouse.
struct DeliveryHarness {
    let directory: TemporaryDirectory
    let catalog: CatalogStore
    let state: SQLiteStateStore
    let warehouse: any Warehouse
    let renderer: PageRenderer
    var asOf: CalendarDay { TestWarehouse.asOf }

    static func make(_ edit: (String) throws -> Void = { _ in }) async throws -> DeliveryHarness {
        let directory = try TemporaryDirectory(prefix: "almanac-delivery")
        let catalogPath = try CatalogFixture.copyDemo(into: directory)
        try edit(catalogPath)
        let state = try SQLiteStateStore(path: directory.file("state.sqlite"))
        try await state.migrate()
        return DeliveryHarness(
            directory: directory, catalog: try CatalogStore(directory: catalogPath), state: state,
            warehouse: try TestWarehouse.open(),
            renderer: try await PageRenderer(webRoot: Repository.web))
    }

    func service(
        mail: MailTransport = .folder("/nonexistent"), taskURL: String? = nil,
        clock: any WallClock = SystemClock()
    ) -> DeliveryService {
        var logger = Logger(label: "delivery-test")
        logger.logLevel = .critical
        return DeliveryService(
            catalog: catalog, state: state, warehouse: warehouse, renderer: renderer,
            configuration: DeliveryConfiguration(
                baseURL: "https://reports.larkspur.io", from: "Almanac <almanac@larkspur.io>", mail: mail,
                taskURL: taskURL, webhooks: WebhookSender(timeout: noTimeLimit)),
            logger: logger, asOf: asOf, clock: clock)
    }

    func worker(
        _ service: DeliveryService, retry: RetryPolicy = RetryPolicy(), metrics: DeliveryMetrics? = nil,
        instance: String = "test", clock: any WallClock = SystemClock()
    ) -> DeliveryWorker {
        var logger = Logger(label: "delivery-test")
        logger.logLevel = .critical
        return DeliveryWorker(
            state: state, sender: service.sender, retry: retry, metrics: metrics, logger: logger, instance: instance,
            clock: clock)
    }

    /// Points the demo's on-call webhook subscription at `receiver`.
    func sendOnCallWebhook(to receiver: HTTPReceiver) throws {
        try CatalogFixture.edit(
            catalog.directory + "/subscriptions/reliability-errors-webhook.yaml",
            replacing: "http://127.0.0.1:9000/hooks/oncall", with: receiver.url + "/hooks/oncall")
        _ = catalog.reloadIfChanged(force: true)
    }

    /// Puts one small webhook call to `receiver` in the outbox, due at `date`.
    func enqueueWebhook(key: String, to receiver: HTTPReceiver, at date: Date) async throws {
        let payload = WebhookPayload(url: receiver.url + "/hook", body: .object(["n": .number(1)]))
        _ = try await state.enqueueDeliveries([
            DeliveryRecord(
                key: key, job: "subscription/reliability-errors-webhook", scheduledFor: morning, channel: .webhook,
                recipient: receiver.url, subject: "errors",
                payload: String(decoding: try JSONEncoder().encode(payload), as: UTF8.self), nextAttemptAt: date,
                createdAt: date)
        ])
    }

    static func smtp(_ sink: SMTPSink) -> MailTransport {
        .smtp(
            SMTPMailer(
                configuration: SMTPConfiguration(
                    url: "smtp://127.0.0.1:\(sink.port)", from: "almanac@larkspur.io", tls: .none,
                    timeout: Int(noTimeLimit.components.seconds))))
    }
}

/// A time limit for sends that no answer comes near: whether a message is accepted never
/// depends on how busy the machine is.
let noTimeLimit = Duration.seconds(600)

/// 2026-11-26 07:00 UTC, the morning after the tiny demo's last day.
let morning = Date(timeIntervalSince1970: 1_795_676_400)

@Suite(.timeLimit(.minutes(10))) struct DigestContentTests {
    @Test func aDailyDigestsNumbersAreTheMetricModels() async throws {
        let catalog = TestWarehouse.demoCatalog
        let warehouse = try TestWarehouse.open()
        let asOf = TestWarehouse.asOf
        let subscription = try #require(catalog.subscriptions.first { $0.id == "daily-signups" })
        let data = try await DigestComposer(catalog: catalog, warehouse: warehouse).compose(subscription, asOf: asOf)
        #expect(data.period.kind == .day && data.period.start == asOf && data.period.end == asOf)
        #expect(data.figures.map(\.metric) == subscription.metrics)
        let evaluator = MetricEvaluator(catalog: catalog, warehouse: warehouse)
        for figures in data.figures {
            let model = try await evaluator.evaluate(
                MetricRequest(
                    metric: figures.metric, grain: .day, range: DateRange(start: asOf.adding(days: -13), end: asOf)))
            let values = try #require(model.series.first { $0.name == nil }).values
            #expect(figures.error == nil)
            #expect(figures.value == values[13], "\(figures.metric): the headline is the day's value")
            #expect(figures.changes.map(\.label) == ["previous day", "same day last week"])
            #expect(figures.changes.map(\.value) == [values[12], values[6]])
            #expect(figures.bars.map(\.value) == values, "the strip is the last 14 days")
        }
        // The sign-up email's referral sources: sign-ups by channel, adding up to the total.
        let signups = try #require(data.figures.first { $0.metric == "signups" })
        #expect(signups.breakdown.count > 2 && signups.breakdownDimension != nil)
        #expect(signups.breakdown.compactMap(\.value).reduce(0, +) == signups.value)

        // The e-mail a marketing member gets says the same, in text and HTML.
        let builder = DigestMessageBuilder(
            catalog: catalog, renderer: try await PageRenderer(webRoot: Repository.web),
            baseURL: "https://reports.larkspur.io/")
        let recipient = try #require(RecipientDirectory(catalog: catalog).resolve([.team("marketing")]).first)
        let message = try builder.message(
            data, subscription: subscription, for: recipient, from: "almanac@larkspur.io", messageID: "x@almanac",
            late: true, date: morning
        ).get()
        let html = try #require(message.html)
        for figures in data.figures {
            let metric = try #require(catalog.metric(figures.metric))
            let value = NumberFormat.format(try #require(figures.value), style: .number, compact: false)
            #expect(message.text.contains("\(metric.name): \(value)"))
            #expect(html.contains(">\(value) <span"), "\(metric.name)'s headline in the HTML")
        }
        let previous = try #require(signups.changes[0].value)
        let expected = try #require(signups.value) >= previous ? "▲" : "▼"
        #expect(message.text.contains("  \(expected) ") && message.text.contains("vs same day last week ("))
        #expect(html.contains("https://reports.larkspur.io/reports/daily-signups?from=email"))
        #expect(html.contains("https://reports.larkspur.io/glossary/signups?from=email"))
        #expect(html.contains("#1a7f37") || html.contains("#cf222e"), "changes are coloured")
        #expect(html.contains("bgcolor=\"#0969da\""), "the bar strip marks the digest's own day")
        #expect(!html.contains("<svg") && !html.contains("<script"), "no SVG or scripts in mail")
        #expect(message.text.contains("This digest is late"))
        #expect(message.subject.hasPrefix("Daily sign-up email: Wednesday 25 November 2026 · Sign-ups "))
    }

    @Test func weeklyAndMonthlyPeriodsAreWholeCalendarPeriodsOfTheModel() async throws {
        let catalog = TestWarehouse.demoCatalog
        let warehouse = try TestWarehouse.open()
        let asOf = TestWarehouse.asOf  // a Wednesday
        let evaluator = MetricEvaluator(catalog: catalog, warehouse: warehouse)
        let weekly = try #require(catalog.subscriptions.first { $0.id == "marketplace-weekly" })
        let week = try await DigestComposer(catalog: catalog, warehouse: warehouse).compose(weekly, asOf: asOf)
        // The last complete Monday-to-Sunday week.
        #expect(week.period.kind == .week && week.period.start.description == "2026-11-16")
        #expect(week.period.end.description == "2026-11-22")
        let events = try #require(week.figures.first { $0.metric == "app_usage_events" })
        let daily = try await evaluator.evaluate(
            MetricRequest(metric: "app_usage_events", grain: .day, range: week.period.range))
        #expect(events.value == daily.series[0].values.compactMap { $0 }.reduce(0, +))
        #expect(events.bars.count == 12 && events.changes.first?.label == "previous week")

        let monthly = try #require(catalog.subscriptions.first { $0.id == "finance-monthly-mrr" })
        let month = try await DigestComposer(catalog: catalog, warehouse: warehouse).compose(monthly, asOf: asOf)
        #expect(month.period.kind == .month && month.period.start.description == "2026-10-01")
        #expect(month.period.end.description == "2026-10-31")
        let mrr = try #require(month.figures.first { $0.metric == "mrr" })
        let model = try await evaluator.evaluate(MetricRequest(metric: "mrr", grain: .month, range: month.period.range))
        #expect(mrr.value == model.series[0].values.first ?? nil)
        #expect(mrr.changes.map(\.label) == ["previous month", "same month last year"])
    }

    @Test func periodsFollowTheScheduleAndEndOnCompletePeriods() throws {
        let wednesday = try #require(CalendarDay(parsing: "2026-11-25"))
        let sunday = try #require(CalendarDay(parsing: "2026-11-22"))
        #expect(DigestPeriod.ending(on: sunday, kind: .week).start.description == "2026-11-16")
        #expect(DigestPeriod.ending(on: wednesday, kind: .week).end == sunday)
        let lastOfMonth = try #require(CalendarDay(parsing: "2026-11-30"))
        #expect(DigestPeriod.ending(on: lastOfMonth, kind: .month).start.description == "2026-11-01")
        #expect(DigestPeriod.ending(on: wednesday, kind: .month).label == "October 2026")
        #expect(DigestPeriod.ending(on: wednesday, kind: .day, compare: .none).comparisons.isEmpty)
        let yearly = DigestPeriod.ending(on: wednesday, kind: .day, compare: .previousYear)
        #expect(yearly.comparisons.map(\.label) == ["previous day", "same day last week", "a year earlier"])
        #expect(yearly.comparisons.last?.start.weekday == wednesday.weekday)
        #expect(yearly.queryRange.start == wednesday.adding(days: -364))
        let catalog = TestWarehouse.demoCatalog
        let kinds = Dictionary(
            uniqueKeysWithValues: catalog.subscriptions.map { ($0.id.rawValue, DigestPeriod.kind(of: $0)) })
        #expect(kinds["daily-signups"] == .day && kinds["marketplace-weekly"] == .week)
        #expect(kinds["finance-monthly-mrr"] == .month && kinds["reliability-errors-webhook"] == .day)
    }
}

@Suite(.serialized, .timeLimit(.minutes(10))) struct DeliveryTests {
    @Test func recipientsOutsideAnItemsAccessGroupsNeverReceiveIt() async throws {
        // MRR is made finance-only and added to the marketing email.
        let harness = try await DeliveryHarness.make { catalog in
            try CatalogFixture.edit(
                catalog + "/metrics/mrr.yaml", replacing: "tags: [", with: "access: [finance]\ntags: [")
            try CatalogFixture.edit(
                catalog + "/subscriptions/daily-signups.yaml", replacing: "metrics: [signups,",
                with: "metrics: [mrr, signups,")
        }
        try await SMTPSink.run { sink in
            let service = harness.service(mail: DeliveryHarness.smtp(sink))
            _ = try await service.run(job: "subscription/finance-monthly-mrr", scheduledFor: morning, late: false)
            _ = try await service.run(job: "subscription/daily-signups", scheduledFor: morning, late: false)
            let attempted = try await harness.worker(service).sendDue(limit: 100)
            #expect(attempted.count == 3 + 9)
            let messages = try sink.delivered()
            #expect(messages.count == 12)
            // Subjects are encoded words (they hold "·"), so messages are told apart by their bodies.
            let finance = messages.filter {
                SMTPSink.decodedBodies($0).contains { $0.contains("Monthly MRR email: October 2026") }
            }
            let recipients = Set(
                finance.compactMap { raw in
                    raw.split(separator: "\n").first { $0.hasPrefix("X-RcptTo: ") }.map {
                        $0.dropFirst(10).trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                })
            #expect(recipients == ["helen.park@larkspur.io", "david.cohen@larkspur.io", "ingrid.nilsen@larkspur.io"])
            #expect(!messages.contains { $0.contains("X-RcptTo: michael.osei@larkspur.io") })
            // The marketing email went out without the finance-only metric.
            let marketing = messages.filter { $0.contains("X-RcptTo: chloe.dubois@larkspur.io") }
            #expect(marketing.count == 1)
            #expect(!SMTPSink.decodedBodies(marketing[0]).contains { $0.contains("MRR") })
            #expect(SMTPSink.decodedBodies(marketing[0]).contains { $0.contains("Sign-ups") })
        }
        // The log says who was left out and why, without the content.
        let skipped = try await harness.state.deliveries(DeliveryQuery(status: .skipped))
        #expect(skipped.map(\.recipient) == ["michael.osei@larkspur.io"])
        #expect(skipped.first?.lastError?.contains("not in the subscription's access groups") == true)
        #expect(skipped.first?.payload == "{}")
    }

    @Test func annotationsInTheDigestsRangeAppearOnlyForThoseWhoMaySeeThem() async throws {
        let harness = try await DeliveryHarness.make { catalog in
            try """
            id: pricing-page-test
            date: 2026-11-23
            title: Pricing page test started
            tags: [launch]
            metrics: [signups]
            """.write(toFile: catalog + "/annotations/pricing-page-test.yaml", atomically: true, encoding: .utf8)
            try """
            id: board-meeting
            date: 2026-11-24
            title: Board reviewed the acquisition offer
            tags: [company]
            access: [executives]
            """.write(toFile: catalog + "/annotations/board-meeting.yaml", atomically: true, encoding: .utf8)
            try """
            id: old-news
            date: 2026-10-01
            title: Something long before the strip
            tags: [launch]
            """.write(toFile: catalog + "/annotations/old-news.yaml", atomically: true, encoding: .utf8)
        }
        let plan = try await harness.service().plan(
            job: "subscription/daily-signups", scheduledFor: morning, late: false)
        func message(_ address: String) throws -> MailMessage {
            let delivery = try #require(plan.deliveries.first { $0.recipient == address })
            return try JSONDecoder().decode(MailMessage.self, from: Data(delivery.payload.utf8))
        }
        // A marketing member: the public annotation in the strip's 14 days, nothing else.
        let marketing = try message("chloe.dubois@larkspur.io")
        #expect(marketing.text.contains("Annotations, 12 Nov – 25 Nov:\n  2026-11-23  Pricing page test started"))
        #expect(try #require(marketing.html).contains("Pricing page test started"))
        #expect(!marketing.text.contains("Board reviewed") && !(marketing.html ?? "").contains("Board reviewed"))
        #expect(!marketing.text.contains("Something long before"))
        // An executive on the same subscription sees the restricted one too.
        let executive = try message("julia.hart@larkspur.io")
        #expect(executive.text.contains("2026-11-24  Board reviewed the acquisition offer"))
    }

    @Test func aScheduledDigestIsSentExactlyOnceAcrossRestarts() async throws {
        let harness = try await DeliveryHarness.make()
        let clock = ManualClock(now: morning.addingTimeInterval(30))
        try await SMTPSink.run { sink in
            func scheduler(_ service: DeliveryService) -> JobScheduler {
                JobScheduler(store: harness.state, logger: Logger(label: "test"), clock: clock) {
                    await service.jobs().filter { $0.id == "subscription/daily-signups" }.map { job in
                        var job = job
                        job.since = morning.addingTimeInterval(-86_400 * 3)
                        return job
                    }
                }
            }
            // The first instance composes the 07:00 digest and stops before sending anything.
            let first = harness.service(mail: DeliveryHarness.smtp(sink), clock: clock)
            let ran = await scheduler(first).runDue()
            #expect(ran.first?.ran == morning && ran.first?.late == false)
            #expect(try await harness.state.deliveries(DeliveryQuery(status: .pending)).count == 9)
            // Restarted: the run is not composed again, and the outbox goes out once.
            clock.advance(by: .seconds(60))
            let second = harness.service(mail: DeliveryHarness.smtp(sink), clock: clock)
            #expect(await scheduler(second).runDue().isEmpty)
            #expect(try await harness.worker(second, clock: clock).sendDue().count == 9)
            // Restarted again: nothing is due, nothing is sent.
            clock.advance(by: .seconds(60))
            let third = harness.service(mail: DeliveryHarness.smtp(sink), clock: clock)
            #expect(await scheduler(third).runDue().isEmpty)
            #expect(try await harness.worker(third, clock: clock).sendDue().isEmpty)
            // Composing the same run again by hand adds nothing either (idempotency keys).
            #expect(
                try await third.run(job: "subscription/daily-signups", scheduledFor: morning, late: false)
                    .contains("9 already queued"))
            let messages = try sink.delivered()
            #expect(messages.count == 9, "nine recipients, each sent once")
            #expect(Set(messages.compactMap(Self.messageID)).count == 9)
        }
        let sent = try await harness.state.deliveries(DeliveryQuery(status: .sent))
        #expect(sent.count == 9 && sent.allSatisfy { $0.attempts == 1 })
    }

    @Test func aDeliveryLeasedByAStoppedInstanceIsTakenOver() async throws {
        let harness = try await DeliveryHarness.make()
        let clock = ManualClock(now: morning)
        try await HTTPReceiver.run { receiver in
            try harness.sendOnCallWebhook(to: receiver)
            let service = harness.service(clock: clock)
            _ = try await service.run(
                job: "subscription/reliability-errors-webhook", scheduledFor: morning, late: false)
            // Instance "gone" leases it for five minutes and never reports back.
            let leased = try await harness.state.claimDueDeliveries(
                instance: "gone", now: clock.date, until: clock.date.addingTimeInterval(300), limit: 10, job: nil)
            #expect(leased.count == 1)
            #expect(try await harness.worker(service, clock: clock).sendDue().isEmpty, "the lease holds")
            clock.advance(by: .seconds(301))
            #expect(try await harness.worker(service, clock: clock).sendDue().count == 1)
            #expect(try receiver.requests().count == 1)
        }
    }

    @Test func aFailingReceiverIsRetriedWithExponentialBackoffUpToTheCap() async throws {
        let harness = try await DeliveryHarness.make()
        let clock = ManualClock(now: morning)
        let registry = PrometheusCollectorRegistry()
        try await HTTPReceiver.run(failures: 3) { receiver in
            try harness.sendOnCallWebhook(to: receiver)
            let service = harness.service(clock: clock)
            _ = try await service.run(
                job: "subscription/reliability-errors-webhook", scheduledFor: morning, late: false)
            let worker = harness.worker(
                service, retry: RetryPolicy(base: 60, cap: 100, maxAttempts: 6),
                metrics: DeliveryMetrics(registry: registry), clock: clock)
            var waits: [TimeInterval] = []
            for _ in 0..<4 {
                let attempted = try await worker.sendDue()
                #expect(attempted.count == 1)
                let id = try #require(attempted.first?.id)
                let record = try #require(try await harness.state.delivery(id: id))
                if record.status == .pending {
                    let wait = record.nextAttemptAt.timeIntervalSince(clock.date)
                    waits.append(wait)
                    // Not due before its time.
                    clock.advance(by: .seconds(wait - 1))
                    #expect(try await worker.sendDue().isEmpty)
                    clock.advance(by: .seconds(1))
                }
            }
            #expect(waits == [60, 100, 100], "60 s, then doubled but capped at 100 s")
            let delivery = try #require(try await harness.state.deliveries(DeliveryQuery()).first)
            #expect(delivery.status == .sent && delivery.attempts == 4)
            let attempts = try await harness.state.deliveryAttempts(id: try #require(delivery.id))
            #expect(attempts.map(\.outcome) == [.retry, .retry, .retry, .sent])
            #expect(attempts.first?.error?.contains("answered 503") == true)
            let requests = try receiver.requests()
            #expect(requests.map(\.status) == [503, 503, 503, 201])
            #expect(Set(requests.compactMap { $0.headers["idempotency-key"] }) == [delivery.key])
            #expect(requests.last?.body?["subscription"]?.string == "reliability-errors-webhook")
            #expect(requests.last?.body?["metrics"] != nil)
        }
        let metrics = registry.emitToString()
        #expect(metrics.contains("almanac_deliveries_retried_total{channel=\"webhook\"} 3"))
        #expect(metrics.contains("almanac_deliveries_sent_total{channel=\"webhook\"} 1"))
        #expect(metrics.contains("almanac_deliveries_failed_total{channel=\"webhook\"} 0"))
    }

    /// The running worker, driven by its clock: the first attempt at once, the next ones when
    /// their backoff has passed and not a tick before, then nothing more.
    @Test func theRunningWorkerRetriesWhenEachBackoffHasPassed() async throws {
        let harness = try await DeliveryHarness.make()
        let clock = ManualClock(now: morning)
        try await HTTPReceiver.run(failures: 2) { receiver in
            let service = harness.service(clock: clock)
            try await harness.enqueueWebhook(key: "test|loop", to: receiver, at: clock.date)
            let worker = harness.worker(
                service, retry: RetryPolicy(base: 60, cap: 3600, maxAttempts: 8), clock: clock)
            try await whileRunning([worker]) { () async throws in
                await clock.sleepers(atLeast: 1)
                #expect(try receiver.requests().map(\.status) == [503], "the first attempt, at once")
                clock.advance(by: .seconds(58))
                await clock.sleepers(atLeast: 1)
                #expect(try receiver.requests().count == 1, "58 s: the 60 s backoff has not passed")
                clock.advance(by: .seconds(2))
                await clock.sleepers(atLeast: 1)
                #expect(try receiver.requests().map(\.status) == [503, 503], "60 s: the second attempt")
                clock.advance(by: .seconds(118))
                await clock.sleepers(atLeast: 1)
                #expect(try receiver.requests().count == 2, "the backoff doubled to 120 s")
                clock.advance(by: .seconds(2))
                await clock.sleepers(atLeast: 1)
                #expect(try receiver.requests().map(\.status) == [503, 503, 201])
                for _ in 0..<3 {
                    clock.advance(by: .seconds(3600))
                    await clock.sleepers(atLeast: 1)
                }
                #expect(try receiver.requests().count == 3, "sent is sent")
            }
            let delivery = try #require(try await harness.state.deliveries(DeliveryQuery()).first)
            #expect(delivery.status == .sent && delivery.attempts == 3)
        }
    }

    @Test func aRefusalOrTheLastRetryFailsTheDeliveryForGood() async throws {
        let harness = try await DeliveryHarness.make()
        let clock = ManualClock(now: morning)
        for (failures, status, policy) in [
            (1, 400, RetryPolicy()), (5, 503, RetryPolicy(base: 1, cap: 1, maxAttempts: 2)),
        ] {
            try await HTTPReceiver.run(failures: failures, failingStatus: status) { receiver in
                let service = harness.service(clock: clock)
                let key = "test|\(status)"
                try await harness.enqueueWebhook(key: key, to: receiver, at: clock.date)
                let worker = harness.worker(service, retry: policy, clock: clock)
                for _ in 0..<3 {
                    _ = try await worker.sendDue()
                    clock.advance(by: .seconds(5))
                }
                let record = try #require(try await harness.state.deliveries(DeliveryQuery()).first { $0.key == key })
                #expect(record.status == .failed)
                if status == 400 {
                    #expect(record.attempts == 1 && record.lastError?.contains("answered 400") == true)
                } else {
                    #expect(record.attempts == 2 && record.lastError?.contains("gave up after 2 attempts") == true)
                }
            }
        }
    }

    /// A trigger over the tiny demo that holds for every major customer with weekly users.
    static func triggerFile(url: String, cooldown: String = "7d") -> String {
        """
        id: test-engagement
        title: Major customer is active
        owner: customer-success
        entity: customer
        scope:
          - column: tier
            op: eq
            value: major
        metric: weekly_active_users
        condition:
          measure: value
          window: 7d
          op: gte
          threshold: 1
        schedule: "0 6 * * *"
        cooldown: \(cooldown)
        action:
          kind: task
          url: \(url)
          assignee: crm_accounts.owner_email
          due: 2d
          title: "{{label}} has {{value}} weekly users"
        """
    }

    @Test func aTriggerCreatesOneTaskPerEntityPerCooldownAcrossInstances() async throws {
        try await HTTPReceiver.run { receiver in
            let harness = try await DeliveryHarness.make { catalog in
                try (Self.triggerFile(url: receiver.url + "/api/1.0/tasks")).write(
                    toFile: catalog + "/triggers/test-engagement.yaml", atomically: true, encoding: .utf8)
            }
            let clock = ManualClock(now: morning)
            let service = harness.service(clock: clock)
            let job = "trigger/test-engagement"
            let first = try await service.run(job: job, scheduledFor: morning, late: false)
            let fired = try #require(Int(first.split(separator: ";").last?.split(separator: " ").first ?? ""))
            #expect(fired > 0, "\(first)")
            #expect(try await harness.worker(service, clock: clock).sendDue(limit: 1000).count == fired)
            let tasks = try receiver.requests()
            #expect(tasks.count == fired && tasks.allSatisfy { $0.path == "/api/1.0/tasks" && $0.status == 201 })

            // The task: a name with the entity, notes with the numbers and the entity's dashboard,
            // the CRM account owner as assignee, a due date.
            let data = try #require(tasks.first?.body?["data"])
            let name = try #require(data["name"]?.string)
            #expect(name.hasSuffix("weekly users"))
            let notes = try #require(data["notes"]?.string)
            #expect(notes.contains("Weekly active users for ") && notes.contains("(fires when value gte 1.0)"))
            #expect(notes.contains("https://reports.larkspur.io/templates/customer?domain="))
            #expect(
                data["assignee"]?.string?.hasSuffix("@") == false && data["assignee"]?.string?.contains("@") == true)
            #expect(data["due_on"]?.string == "2026-11-28")
            let event = try #require(data["external"]?["data"])
            #expect(event["trigger"]?.string == "test-engagement" && event["value"]?.number ?? 0 >= 1)
            #expect(Set(tasks.compactMap { $0.headers["idempotency-key"] }).count == fired)

            // The next day, within the 7-day cooldown: nothing.
            clock.advance(by: .seconds(86_400))
            let quiet = try await service.run(job: job, scheduledFor: morning.addingTimeInterval(86_400), late: false)
            #expect(quiet.hasSuffix("0 fired, \(fired) still cooling down"), "\(quiet)")
            #expect(try await harness.worker(service, clock: clock).sendDue(limit: 1000).isEmpty)

            // A dry run says the same without writing anything.
            let plan = try await service.plan(
                job: job, scheduledFor: morning.addingTimeInterval(2 * 86_400), late: false)
            #expect(plan.firings.count == fired && plan.firings.allSatisfy(\.coolingDown))

            // Eight days on, past the cooldown: two instances check the same time, and each
            // entity gets one more task.
            let later = morning.addingTimeInterval(8 * 86_400)
            clock.advance(to: later)
            let other = harness.service(clock: clock)
            async let a = service.run(job: job, scheduledFor: later, late: false)
            async let b = other.run(job: job, scheduledFor: later, late: false)
            _ = try await (a, b)
            let firings = try await harness.state.triggerFirings(trigger: "test-engagement", limit: 1000)
            #expect(firings.count == 2 * fired)
            #expect(try await harness.worker(other, clock: clock).sendDue(limit: 1000).count == fired)
            #expect(try receiver.requests().count == 2 * fired)
        }
    }

    @Test func aCooldownBlocksEarlierTimesToo() async throws {
        let harness = try await DeliveryHarness.make()
        let firing = { (at: Date) in
            TriggerFiring(
                trigger: "t", entityKey: "42", entityLabel: "Globex", firedAt: at,
                cooldownUntil: at.addingTimeInterval(7 * 86_400))
        }
        // A manual run at 10:00, then the portal catches up the 06:00 time: one firing.
        #expect(try await harness.state.fireTrigger(firing(morning.addingTimeInterval(3 * 3600)), deliveries: []))
        #expect(try await !harness.state.fireTrigger(firing(morning.addingTimeInterval(-3600)), deliveries: []))
        #expect(try await !harness.state.fireTrigger(firing(morning.addingTimeInterval(6 * 86_400)), deliveries: []))
        #expect(try await harness.state.fireTrigger(firing(morning.addingTimeInterval(8 * 86_400)), deliveries: []))
        // Long before: its quiet period ends before the first firing, so it may fire.
        #expect(try await harness.state.fireTrigger(firing(morning.addingTimeInterval(-8 * 86_400)), deliveries: []))
    }

    @Test func theTrackerTokenGoesOnlyToTheConfiguredTracker() {
        let sender = DeliverySender(
            mail: .folder("/nonexistent"), taskURL: "https://app.asana.com/api/1.0/tasks", taskToken: "secret")
        #expect(sender.bearer(for: "https://app.asana.com/api/1.0/tasks") == "secret")
        #expect(sender.bearer(for: "https://APP.asana.com:443/other") == "secret")
        #expect(sender.bearer(for: "http://app.asana.com/api/1.0/tasks") == nil)
        #expect(sender.bearer(for: "https://hooks.example.com/api/1.0/tasks") == nil)
        #expect(DeliverySender(mail: .folder("/x"), taskToken: "secret").bearer(for: "https://a.b/") == nil)
    }

    @Test func aRunReadsTheDayBeforeItsScheduledDateInTheCatalogsTimeZone() async throws {
        let harness = try await DeliveryHarness.make { catalog in
            try CatalogFixture.edit(catalog + "/almanac.yaml", replacing: "timezone: UTC", with: "timezone: Asia/Tokyo")
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let service = DeliveryService(
            catalog: harness.catalog, state: harness.state, warehouse: harness.warehouse, renderer: harness.renderer,
            configuration: DeliveryConfiguration(baseURL: "https://r", from: "a@b.c", mail: .folder("/x")),
            logger: logger)
        // 08:00 in Tokyo on 26 November is 23:00 UTC on the 25th; run on time or two hours late
        // (past UTC midnight), it reads the 25th.
        let eight = Date(timeIntervalSince1970: 1_795_647_600)
        let catalog = harness.catalog.current
        #expect(service.dataDay(for: eight, catalog).description == "2026-11-25")
        #expect(service.dataDay(for: eight.addingTimeInterval(2 * 3600), catalog).description == "2026-11-25")
    }

    @Test func anAttemptWhoseLeaseWasTakenOverIsNotMade() async throws {
        let harness = try await DeliveryHarness.make()
        let clock = ManualClock(now: morning)
        try await HTTPReceiver.run { receiver in
            try await harness.enqueueWebhook(key: "lease-test", to: receiver, at: clock.date)
            // "slow" leased it, then stalled past its lease; "fast" took it over and sent it.
            let slow = try await harness.state.claimDueDeliveries(
                instance: "slow", now: clock.date, until: clock.date.addingTimeInterval(300), limit: 1, job: nil)
            clock.advance(by: .seconds(301))
            #expect(
                try await harness.worker(harness.service(), instance: "fast", clock: clock).sendDue().count == 1)
            #expect(
                try await !harness.state.renewDeliveryLease(
                    id: try #require(slow.first?.id), instance: "slow", now: clock.date,
                    until: clock.date.addingTimeInterval(300)))
            #expect(try receiver.requests().count == 1)
        }
    }

    @Test func aTaskTriggerWithoutATrackerDoesNotFire() async throws {
        let harness = try await DeliveryHarness.make()
        let service = harness.service()
        await #expect(throws: DeliveryError.self) {
            try await service.run(job: "trigger/major-customer-engagement-drop", scheduledFor: morning, late: false)
        }
        #expect(try await harness.state.triggerFirings(trigger: nil, limit: 10).isEmpty)
        // A dry run still shows what would fire, and why nothing would be sent.
        let plan = try await service.plan(
            job: "trigger/major-customer-engagement-drop", scheduledFor: morning, late: false)
        #expect(plan.firings.allSatisfy { $0.deliveries.allSatisfy { $0.status == .skipped } })
    }

    @Test func retryDelaysDoubleUpToTheCapAndStopAtTheLastAttempt() {
        let policy = RetryPolicy(base: 60, cap: 3600, maxAttempts: 8)
        #expect((1...8).map { policy.delay(after: $0) } == [60, 120, 240, 480, 960, 1920, 3600, nil])
    }

    static func messageID(_ raw: String) -> String? {
        raw.split(separator: "\n").first { $0.hasPrefix("Message-ID: ") }.map { String($0.dropFirst(12)) }
    }

}

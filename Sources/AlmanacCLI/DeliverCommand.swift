import AlmanacCore
import ArgumentParser
import Catalog
import Composition
import Delivery
import Foundation
import Logging
import Pages
import Rendering
import Storage
import Warehouse

struct DeliverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Show what digests, webhooks and tasks would be sent now, or send one now.",
        discussion: """
            --dry-run composes every subscription and trigger (or the JOB given) as if it ran
            now, from the warehouse as of --as-of, and prints each message, who it goes to, and
            who is left out and why; nothing is written. --now JOB composes that one job, adds it
            to the outbox in the state store and sends it at once, with retries recorded like the
            portal's. Jobs are subscription/<id> or trigger/<id> (a bare id is looked up).
            Transports come from ALMANAC_SMTP_*, ALMANAC_TASKS_URL and ALMANAC_PUBLIC_URL; without
            ALMANAC_SMTP_URL, e-mail is written as .eml files to the outbox folder beside the state.
            """)

    @OptionGroup var stores: StoreOptions

    @OptionGroup var warehouseOption: WarehouseOption

    @OptionGroup var asOf: AsOfOption

    @OptionGroup var web: WebOption

    @Flag(help: "Print what would be sent now, and write nothing (the default without --now).")
    var dryRun = false

    @Option(name: .customLong("now"), help: "Compose and send this job now.")
    var sendNow: String?

    @Flag(help: "With --dry-run: print each e-mail's plain-text body too.")
    var bodies = false

    @Argument(help: "With --dry-run: only this job.")
    var job: String?

    func validate() throws {
        try warehouseOption.checkReadable()
        if dryRun && sendNow != nil { throw ValidationError("--dry-run and --now exclude each other") }
    }

    func run() async throws {
        guard let webRoot = PageRenderer.locateWebRoot(web.directory) else {
            printError("cannot find the portal's Web/ folder (e-mail templates); pass --web DIR")
            throw ExitCode(1)
        }
        // The demo's warehouse unless one is given.
        let opened = try Stores.opened(
            catalog: stores.catalog.directory, state: stores.state.location(),
            warehouse: .location(warehouseOption.location ?? "var/demo/warehouse.sqlite"))
        let (store, state) = (opened.catalog, try await opened.migrated())
        _ = try await stores.service(store, state)  // the lifecycle overlay: retired metrics stay out
        guard let connection = opened.warehouse else { return }
        do {
            try await run(store: store, state: state, webRoot: webRoot, warehouse: connection)
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }

    private func run(
        store: CatalogStore, state: any StateStore, webRoot: String, warehouse connection: any Warehouse
    ) async throws {
        let configuration: DeliveryConfiguration
        do {
            configuration = try DeliveryConfiguration.from(
                defaultBaseURL: "http://127.0.0.1:8080",
                outbox: DeliveryConfiguration.outbox(forState: stores.state.location()),
                companyDomain: store.current.settings.companyDomain)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        var logger = Logger(label: "almanac.deliver")
        logger.logLevel = .warning
        let fixed = asOf.day
        let service = DeliveryService(
            catalog: store, state: state, warehouse: connection, renderer: try await PageRenderer(webRoot: webRoot),
            configuration: configuration, logger: logger, asOf: fixed)
        let now = Date()
        let day = service.dataDay(for: now, store.current)
        if let sendNow {
            let job = try resolve(sendNow, store.current)
            try await send(job, service: service, state: state, configuration: configuration, logger: logger, at: now)
            return
        }
        let jobs = try job.map { [try resolve($0, store.current)] } ?? allJobs(store.current)
        print("As if run now (\(now.formatted(.iso8601))), with data as of \(day); nothing is written.")
        print("E-mail would go to \(configuration.mail.displayName); links point at \(configuration.baseURL).\n")
        var failures = 0
        for job in jobs {
            do {
                print(describe(try await service.plan(job: job, scheduledFor: now, late: false)))
            } catch {
                failures += 1
                print("\(job)\n  cannot be composed: \((error as? any AlmanacError)?.userMessage ?? "\(error)")\n")
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    private func allJobs(_ catalog: Catalog) -> [String] {
        catalog.subscriptions.map { DeliveryService.jobID(ItemKey(.subscription, $0.id.rawValue)) }
            + catalog.triggers.map { DeliveryService.jobID(ItemKey(.trigger, $0.id.rawValue)) }
    }

    private func resolve(_ text: String, _ catalog: Catalog) throws -> String {
        if DeliveryService.item(ofJob: text) != nil { return text }
        let matches = allJobs(catalog).filter { $0.hasSuffix("/" + text) }
        guard matches.count == 1 else {
            printError(
                matches.isEmpty
                    ? "'\(text)' is neither a subscription nor a trigger in \(stores.catalog.directory)"
                    : "'\(text)' is ambiguous: \(matches.joined(separator: ", "))")
            throw ExitCode(1)
        }
        return matches[0]
    }

    private func describe(_ plan: DeliveryPlan) -> String {
        var lines = ["\(plan.job)", "  \(plan.summary)"]
        func line(_ delivery: DeliveryRecord, note: String = "") -> [String] {
            var out: [String] = []
            if delivery.status == .skipped {
                out.append(
                    "  - \(delivery.channel.rawValue) \(delivery.recipient): left out (\(delivery.lastError ?? ""))")
            } else {
                out.append("  → \(delivery.channel.rawValue) \(delivery.recipient)\(note): \(delivery.subject)")
                if bodies, delivery.channel == .email,
                    let message = try? JSONDecoder().decode(MailMessage.self, from: Data(delivery.payload.utf8))
                {
                    out += message.text.split(separator: "\n", omittingEmptySubsequences: false).map { "      \($0)" }
                }
            }
            return out
        }
        for delivery in plan.deliveries { lines += line(delivery) }
        for firing in plan.firings {
            lines.append("  ● \(firing.firing.entityLabel): \(firing.firing.detail ?? "")")
            for delivery in firing.deliveries {
                lines += line(delivery, note: firing.coolingDown ? " [not sent: still cooling down]" : "")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func send(
        _ job: String, service: DeliveryService, state: any StateStore, configuration: DeliveryConfiguration,
        logger: Logger, at date: Date
    ) async throws {
        let summary: String
        do {
            summary = try await service.run(job: job, scheduledFor: date, late: false)
        } catch {
            printError((error as? any AlmanacError)?.userMessage ?? "\(error)")
            throw ExitCode(1)
        }
        print("\(job): \(summary)")
        let worker = DeliveryWorker(
            state: state, sender: service.sender, retry: configuration.retry, logger: logger,
            instance: "cli/\(ProcessInfo.processInfo.processIdentifier)")
        let attempted = try await worker.sendDue(limit: 10_000, job: job)
        var failed = 0
        for delivery in attempted {
            guard let id = delivery.id, let record = try await state.delivery(id: id) else { continue }
            let outcome: String
            switch record.status {
            case .sent: outcome = "sent"
            case .pending: outcome = "failed, will be retried by the portal: \(record.lastError ?? "")"
            default:
                failed += 1
                outcome = "\(record.status.rawValue): \(record.lastError ?? "")"
            }
            print("  \(record.channel.rawValue) \(record.recipient): \(outcome)")
        }
        if attempted.isEmpty { print("  nothing to send") }
        if failed > 0 { throw ExitCode(1) }
    }
}

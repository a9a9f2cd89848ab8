import AlmanacCore
import AlmanacTestSupport
import Foundation
import Storage
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

extension BinaryTests {
    /// Portals as a company runs them for availability: several `almanac serve` on one
    /// PostgreSQL state store, nginx in front, instances restarted one at a time under load or
    /// killed in the middle of a scheduled job. Every process is real.
    @Suite(.timeLimit(.minutes(10))) struct ClusterCLITests {
        /// wrk sends requests through nginx to two portals while each is stopped (SIGTERM) and
        /// started again in turn: nginx sees no error from either (a stopping portal finishes
        /// what it accepted and closes idle connections, which nginx retries on the other), and
        /// the shared store holds exactly one view per page the portals served.
        @Test func aRollingRestartUnderLoadLosesNoRequestAndNoView() async throws {
            let directory = try TemporaryDirectory(prefix: "almanac-rolling")
            let state = try await TestPostgres.makeDatabase(prefix: "cli_rolling")
            var portals = try [0, 1].map { _ in try PortalProcess(state: state, directory: directory) }
            defer { for portal in portals { portal.stop() } }
            let balancer = try LoadBalancer(ports: portals.map(\.port), directory: directory)
            defer { balancer.stop() }
            let load = try Wrk(url: "http://127.0.0.1:\(balancer.port)/glossary/signups")
            defer { _ = try? load.stop() }
            #expect(try await eventually { balancer.served().count >= 100 }, "wrk is under way")
            for index in portals.indices {
                let port = portals[index].port
                #expect(portals[index].stop() == 0, "portal \(index) stops cleanly on SIGTERM")
                let before = balancer.served().count
                // The other portal carries the load alone meanwhile.
                #expect(try await eventually { balancer.served().count >= before + 100 })
                portals[index] = try PortalProcess(state: state, directory: directory, port: port)
                #expect(
                    try await eventually {
                        balancer.served().dropFirst(before).filter { $0.portals.last == port }.count >= 50
                    }, "portal \(index) serves again after its restart")
            }
            let report = try load.stop()
            #expect(report.requests > 0 && report.non2xx == 0 && report.socketErrors == 0, "\(report.output)")
            balancer.stop()
            for portal in portals { #expect(portal.stop() == 0) }
            let requests = balancer.served()
            // Every request nginx passed on ended with a page from a portal: 200, or 499 for the
            // few wrk dropped when it stopped (nginx still read their pages: proxy_ignore_client_abort).
            let failed = requests.filter { !["200", "499"].contains($0.status) || $0.portalStatus != "200" }
            #expect(failed.isEmpty, "\(failed.prefix(5))")
            #expect(requests.count >= report.requests)
            let retried = requests.filter { $0.portals.count > 1 }.count
            print("rolling restart: \(report.requests) answered to wrk, \(requests.count) served, \(retried) retried")
            let store = try PostgresStateStore(url: state, connectTimeout: TestPostgres.connectTimeout)
            defer { store.close() }
            #expect(try await store.viewCounts(kind: nil, since: nil)["metric/signups"] == requests.count)
        }

        /// Two portals share the schedule; the test stops the run of a digest midway (it holds
        /// the outbox table, so the run waits to queue its e-mails), kills the portal running it
        /// (SIGKILL), and the other takes the run over once the dead one's lease has lapsed (3 s
        /// here) and sends each e-mail once, through a real SMTP server.
        @Test func aScheduledRunWhosePortalIsKilledIsTakenOverAndSendsEachMailOnce() async throws {
            let directory = try TemporaryDirectory(prefix: "almanac-takeover")
            let state = try await TestPostgres.makeDatabase(prefix: "cli_takeover")
            let catalog = try CatalogFixture.copyDemo(into: directory)
            try await SMTPSinkProcess.run(directory: directory) { sink in
                let environment = [
                    "ALMANAC_SMTP_URL": "smtp://127.0.0.1:\(sink.port)", "ALMANAC_SMTP_FROM": "almanac@larkspur.io",
                    "ALMANAC_SMTP_TLS": "none", "ALMANAC_PUBLIC_URL": "https://reports.larkspur.io",
                    "ALMANAC_JOB_LEASE_SECONDS": "3",
                ]
                let arguments = [
                    "--warehouse", TestWarehouse.tinyDemo, "--as-of", TestWarehouse.asOf.description,
                ]
                let portals = try [0, 1].map { _ in
                    try PortalProcess(
                        state: state, directory: directory, catalog: catalog, arguments: arguments,
                        environment: environment)
                }
                defer { for portal in portals { portal.stop() } }
                // Both migrated: the outbox table exists. Queuing into it now waits for the test.
                let lock = try await HeldPostgresLock(state, lock: "LOCK TABLE deliveries IN EXCLUSIVE MODE")
                // The daily sign-ups digest, scheduled once, at the start of a minute at least 40 s
                // ahead (however long the portals took to start); both pick the edit up within 2 s.
                var utc = Calendar(identifier: .gregorian)
                utc.timeZone = .gmt
                let minute = utc.dateComponents(
                    [.year, .month, .day, .hour, .minute], from: Date().addingTimeInterval(100))
                let time = utc.dateComponents([.month, .day, .hour, .minute], from: utc.date(from: minute)!)
                let subscription = catalog + "/subscriptions/daily-signups.yaml"
                let yaml = try String(contentsOfFile: subscription, encoding: .utf8)
                let schedule = "schedule: \"\(time.minute!) \(time.hour!) \(time.day!) \(time.month!) *\""
                try yaml.replacingOccurrences(of: #"schedule: "[^"]*""#, with: schedule, options: .regularExpression)
                    .write(toFile: subscription, atomically: true, encoding: .utf8)
                #expect(try String(contentsOfFile: subscription, encoding: .utf8).contains(schedule))
                let job = "subscription/daily-signups"
                let claimed = "SELECT instance FROM job_runs WHERE job = '\(job)' AND status = 'running'"
                #expect(
                    try await eventually(hangGuard: .seconds(400)) {
                        try await !TestPostgres.column(state, claimed).isEmpty
                    }, "one portal claims the digest's time")
                // Its run is stopped at the queue: a statement waits for the test's lock.
                let waiting = """
                    SELECT pid FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%deliveries%'
                    """
                #expect(try await eventually { try await !TestPostgres.column(state, waiting).isEmpty })
                let instance = try #require(try await TestPostgres.column(state, claimed).first ?? nil)
                let running = try #require(
                    portals.firstIndex { instance.hasSuffix("/\($0.process.processIdentifier)") },
                    "\(instance) is one of the two portals")
                kill(portals[running].process.processIdentifier, SIGKILL)
                portals[running].process.waitUntilExit()
                try await lock.release()

                let other = portals[1 - running].process.processIdentifier
                let finished = "SELECT status || ' ' || instance FROM job_runs WHERE job = '\(job)'"
                #expect(
                    try await eventually {
                        try await TestPostgres.column(state, finished).first??.hasPrefix("succeeded ") == true
                    }, "the other portal takes the run over and finishes it")
                let record = try #require(try await TestPostgres.column(state, finished).first ?? nil)
                #expect(record.hasSuffix("/\(other)"), "\(record)")
                let late = "SELECT late::text FROM job_runs WHERE job = '\(job)'"
                #expect(try await TestPostgres.column(state, late) == ["true"], "run again late, as a takeover is")
                let queued = "SELECT count(*)::text FROM deliveries WHERE job = '\(job)' AND status <> 'skipped'"
                let sent = "SELECT count(*)::text FROM deliveries WHERE job = '\(job)' AND status = 'sent'"
                #expect(
                    try await eventually {
                        let all = try await TestPostgres.column(state, queued).first ?? nil
                        let done = try await TestPostgres.column(state, sent).first ?? nil
                        return all != "0" && all == done
                    }, "every queued e-mail is sent")
                let count = try #require(Int(try await TestPostgres.column(state, queued).first?.flatMap { $0 } ?? ""))
                #expect(try await eventually { try sink.messages().count >= count })
                let recipients = try sink.messages().map(\.recipient)
                #expect(recipients.count == count, "each e-mail once: \(recipients.sorted())")
                #expect(Set(recipients).count == recipients.count, "nobody gets the digest twice")
                print("takeover: \(instance) killed, the run finished by \(record), \(count) e-mails sent once each")
            }
        }

        /// Generators apart: one `almanac generator` and two portals started with `--generator`,
        /// all on one PostgreSQL state store. The generator makes every dashboard once (its runs
        /// and scheduled times are in the shared store); the portals serve them and never
        /// generate: their own artifact folders stay empty, and no report is generated twice.
        @Test func portalsWithAGeneratorApartNeverGenerate() async throws {
            let directory = try TemporaryDirectory(prefix: "almanac-generators")
            let state = try await TestPostgres.makeDatabase(prefix: "cli_generators")
            let data = ["--warehouse", TestWarehouse.tinyDemo, "--as-of", TestWarehouse.asOf.description]
            let generator = try PortalProcess(
                command: "generator", state: state, directory: directory,
                arguments: data + ["--artifacts", directory.file("generated")])
            defer { generator.stop() }
            let portals = try [0, 1].map { index in
                try PortalProcess(
                    state: state, directory: directory,
                    arguments: data + [
                        "--artifacts", directory.file("portal-\(index)"), "--generator",
                        "http://127.0.0.1:\(generator.port)",
                    ])
            }
            defer { for portal in portals { portal.stop() } }
            // The generator makes the dashboards that are missing as it starts, each recorded as
            // its report's latest scheduled time (so the night does not make it again).
            let scheduled =
                "SELECT count(*)::text FROM job_runs WHERE job LIKE 'generation/%' AND status = 'succeeded'"
            #expect(
                try await eventually(hangGuard: .seconds(400)) {
                    let count = try await TestPostgres.column(state, scheduled).first ?? nil
                    return Int(count ?? "") ?? 0 > 0
                }, "the generator records its generation in the shared store")
            for portal in portals {
                let (body, response) = try await CLITests.get("http://127.0.0.1:\(portal.port)/reports/growth-overview")
                #expect((response as? HTTPURLResponse)?.statusCode == 200)
                #expect(String(decoding: body, as: UTF8.self).contains("<svg"), "the generator's dashboard")
            }
            for portal in portals { #expect(portal.stop() == 0) }
            #expect(generator.stop() == 0)
            let twice =
                "SELECT target FROM runs WHERE kind = 'generation' AND error IS NULL GROUP BY target HAVING count(*) > 1"
            #expect(try await TestPostgres.column(state, twice).isEmpty, "no report generated twice")
            let runs = try await TestPostgres.column(state, "SELECT count(*)::text FROM runs WHERE kind = 'generation'")
            #expect(Int((runs.first ?? nil) ?? "") ?? 0 > 5, "\(runs)")
            // What a portal keeps is a mirror of what it was asked for: the generator's version, byte
            // for byte, of the one report read.
            func latest(_ root: String) throws -> [String: Data] {
                let report = root + "/reports/growth-overview/"
                let version = try String(contentsOfFile: report + "LATEST", encoding: .utf8)
                let folder = report + version.trimmingCharacters(in: .whitespacesAndNewlines)
                var files: [String: Data] = [:]
                for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name != "manifest.json" {
                    files[name] = FileManager.default.contents(atPath: folder + "/" + name)
                }
                return files
            }
            let generated = try latest(directory.file("generated"))
            #expect(generated.keys.contains("dashboard.html"))
            for index in 0..<2 {
                let folder = directory.file("portal-\(index)")
                #expect(try latest(folder) == generated, "portal \(index) mirrors the generator's dashboard")
                let reports = try FileManager.default.contentsOfDirectory(atPath: folder + "/reports")
                #expect(reports == ["growth-overview"], "portal \(index) generated nothing: \(reports)")
            }
        }
    }
}

/// `almanac serve` (or `generator`) on the demo catalog, PostgreSQL state and a port of its own (kept across a
/// restart), logging to a file (a pipe nobody reads would stall it under load).
struct PortalProcess {
    let process: Process
    let port: Int

    init(
        command: String = "serve", state: String, directory: TemporaryDirectory, port: Int? = nil,
        catalog: String = "Catalog", arguments: [String] = [], environment: [String: String] = [:]
    ) throws {
        let port = try port ?? ReservedPort().port  // free again once the reservation is dropped
        let log = directory.file("portal-\(port)-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: try BinaryTests.CLITests.binary())
        process.arguments =
            [
                command, "--catalog", catalog, "--state", state, "--port", "\(port)", "--allow-anonymous-loopback",
            ] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: Repository.root)
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ALMANAC_") }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        self.port = port
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, process.isRunning {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if text.contains("listening on 127.0.0.1:\(port)") { return }
            usleep(20_000)
        }
        process.terminate()
        throw FixtureError(
            "portal on port \(port) did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    /// SIGTERM, and the exit status once it has stopped (it writes its buffered views first).
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// nginx from the distribution in front of `ports`: round robin over kept-alive connections,
/// a failed connection retried on the next portal (`proxy_next_upstream error`), and an access
/// log of `status|upstream_status|upstream_addr` per request.
struct LoadBalancer {
    let process: Process
    let port: Int
    let log: String

    init(ports: [Int], directory: TemporaryDirectory) throws {
        let root = directory.file("nginx")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        port = try ReservedPort().port
        log = root + "/access.log"
        let servers = ports.map { "        server 127.0.0.1:\($0) max_fails=0;" }.joined(separator: "\n")
        let configuration = """
            worker_processes 1;
            daemon off;
            user root;
            error_log \(root)/error.log warn;
            pid \(root)/nginx.pid;
            events { worker_connections 1024; }
            http {
                log_format lb '$status|$upstream_status|$upstream_addr';
                access_log \(log) lb;
                client_body_temp_path \(root)/client;
                proxy_temp_path \(root)/proxy;
                fastcgi_temp_path \(root)/fastcgi;
                uwsgi_temp_path \(root)/uwsgi;
                scgi_temp_path \(root)/scgi;
                upstream portals {
            \(servers)
                    keepalive 16;
                }
                server {
                    listen 127.0.0.1:\(port);
                    location / {
                        proxy_pass http://portals;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_next_upstream error timeout;
                        proxy_ignore_client_abort on;
                        proxy_connect_timeout 5s;
                        proxy_read_timeout 600s;
                        proxy_buffers 32 16k;
                    }
                }
            }
            """
        try configuration.write(toFile: root + "/nginx.conf", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        process.arguments = ["-p", root, "-c", root + "/nginx.conf"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, process.isRunning {
            if FileManager.default.fileExists(atPath: root + "/nginx.pid") { return }
            usleep(20_000)
        }
        throw FixtureError(
            "nginx did not start: \((try? String(contentsOfFile: root + "/error.log", encoding: .utf8)) ?? "")")
    }

    /// One request nginx handled, from its access log.
    struct Request {
        /// What nginx answered.
        var status: String
        /// What the last portal it tried answered.
        var portalStatus: String
        /// The ports of the portals it tried, in order (more than one: a retry).
        var portals: [Int]
    }

    /// The requests handled so far.
    func served() -> [Request] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { line in
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            func list(_ index: Int) -> [String] {
                fields.count > index ? fields[index].components(separatedBy: ", ") : []
            }
            return Request(
                status: fields.first ?? "", portalStatus: list(1).last ?? "",
                portals: list(2).compactMap { Int($0.split(separator: ":").last ?? "") })
        }
    }

    /// SIGQUIT: nginx finishes the requests under way, writes their lines, and exits.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGQUIT) }
        process.waitUntilExit()
    }
}

/// wrk against `url` until stopped (SIGINT: it prints its summary and exits).
struct Wrk {
    struct Report {
        var requests: Int
        var non2xx: Int
        var socketErrors: Int
        var output: String
    }
    let process: Process
    let output: String

    init(url: String) throws {
        let file = NSTemporaryDirectory() + "wrk-\(UUID().uuidString).txt"
        _ = FileManager.default.createFile(atPath: file, contents: nil)
        output = file
        process = Process()
        // Through a shell of Python that unblocks SIGINT first: a test process hands its
        // children a signal mask that blocks it, and wrk stops (and reports) only on SIGINT.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
                + "signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])",
            "wrk", "-t", "1", "-c", "8", "-d", "1800s", "--timeout", "600s", url,
        ]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        process.standardError = process.standardOutput
        try process.run()
    }

    @discardableResult
    func stop() throws -> Report {
        if process.isRunning { kill(process.processIdentifier, SIGINT) }
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        func number(after label: String, in text: Substring) -> Int {
            guard let range = text.range(of: label) else { return 0 }
            return Int(text[range.upperBound...].drop(while: { $0 == " " }).prefix { $0.isNumber }) ?? 0
        }
        let requests = text.range(of: #"\d+ requests in"#, options: .regularExpression).map {
            Int(text[$0].prefix { $0.isNumber }) ?? 0
        }
        // "Socket errors: connect 0, read 0, write 0, timeout 0", only when there were some.
        let socket = text.split(separator: "\n").first { $0.contains("Socket errors:") } ?? ""
        let errors = ["connect ", "read ", "write ", "timeout "].reduce(0) { $0 + number(after: $1, in: socket) }
        return Report(
            requests: requests ?? -1, non2xx: number(after: "Non-2xx or 3xx responses:", in: text[...]),
            socketErrors: errors, output: text)
    }
}

/// The SMTP sink of the mail tests (aiosmtpd, `Tests/DeliveryTests/Support/smtp_sink.py`),
/// delivering into a Maildir.
struct SMTPSinkProcess {
    struct Message { var recipient: String }
    let port: Int
    let maildir: String

    static func run<T>(directory: TemporaryDirectory, _ body: (SMTPSinkProcess) async throws -> T) async throws -> T {
        let maildir = directory.file("Maildir")
        return try await withHelperScript(
            Repository.root + "/Tests/DeliveryTests/Support/smtp_sink.py", [maildir],
            what: "the SMTP sink (is aiosmtpd installed? scripts/install-prerequisites --tests)"
        ) { port in try await body(SMTPSinkProcess(port: port, maildir: maildir)) }
    }

    /// The messages delivered so far, by their envelope recipient.
    func messages() throws -> [Message] {
        let folder = maildir + "/new"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return try names.map { name in
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            let header = text.split(separator: "\n").first { $0.hasPrefix("X-RcptTo:") } ?? ""
            return Message(recipient: header.dropFirst("X-RcptTo:".count).trimmingCharacters(in: .whitespaces))
        }
    }
}

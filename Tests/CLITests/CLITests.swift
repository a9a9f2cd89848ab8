import AlmanacCore
import AlmanacTestSupport
import Foundation
import Storage
import Testing

#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
extension BinaryTests {
    /// Runs the built `almanac` binary as a user would.
    @Suite(.timeLimit(.minutes(10))) struct CLITests {
        struct Result {
            var status: Int32
            var stdout: String
            var stderr: String
        }

        static func binary() throws -> String {
            let path = Repository.almanacBinary
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw FixtureError("\(path) is missing: run 'swift build' before 'swift test' (scripts/test does)")
            }
            return path
        }

        static func almanac(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try binary())
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: Repository.root)
            var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ALMANAC_") }
            env.merge(environment) { $1 }
            process.environment = env
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Result(
                status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                stderr: String(decoding: stderr, as: UTF8.self))
        }

        @Test func checkPassesOnTheDemoCatalog() throws {
            let result = try Self.almanac(["catalog", "check", "Catalog"])
            #expect(result.status == 0)
            #expect(result.stdout.hasPrefix("Catalog: OK — 170 files"))
        }

        @Test func searchFindsCorrectsAndRespectsGroups() throws {
            let typo = try Self.almanac(["search", "retension", "--catalog", "Catalog", "--state", "/nonexistent"])
            #expect(typo.status == 0, "\(typo.stderr)")
            #expect(typo.stdout.contains("Did you mean: retention"))
            #expect(typo.stdout.contains("[Report] User *retention*"))
            #expect(typo.stdout.contains("/reports/user-retention"))

            let json = try Self.almanac(["search", "kind:metric signups", "--format", "json", "--limit", "3"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let hits = try #require(object["hits"] as? [[String: Any]])
            #expect(hits.first?["id"] as? String == "signups")
            #expect(hits.allSatisfy { $0["kind"] as? String == "metric" })

            let admin = try Self.almanac(["search", "executive weekly"])
            #expect(admin.stdout.contains("/reports/executive-weekly"))
            let outsider = try Self.almanac(["search", "executive weekly", "--groups", "growth"])
            #expect(outsider.status == 0)
            #expect(!outsider.stdout.contains("/reports/executive-weekly"), "\(outsider.stdout)")

            let explain = try Self.almanac(["search", "churn", "--explain", "--limit", "1"])
            #expect(explain.stdout.contains("score: 'churn' → churn (exact)"))
            #expect(try Self.almanac(["search", "churn", "--limit", "0"]).status != 0)
        }

        @Test func checkListsEveryProblemAndFails() throws {
            let result = try Self.almanac(["catalog", "check", "Tests/CatalogTests/Fixtures/broken"])
            #expect(result.status == 1)
            let expected = try String(
                contentsOfFile: Repository.root + "/Tests/CatalogTests/Fixtures/broken-expected.txt", encoding: .utf8)
            #expect(result.stdout == expected)
            #expect(result.stdout.split(separator: "\n").filter { $0.contains(": error: ") }.count == 10)
        }

        @Test func checkSpeaksJSONForTools() throws {
            let result = try Self.almanac([
                "catalog", "check", "--format", "json", "Tests/CatalogTests/Fixtures/broken",
            ])
            #expect(result.status == 1)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(object["ok"] as? Bool == false)
            #expect(object["errors"] as? Int == 10)
            let diagnostics = try #require(object["diagnostics"] as? [[String: Any]])
            let first = try #require(diagnostics.first)
            #expect(first["file"] as? String == "Tests/CatalogTests/Fixtures/broken/backends/app.yaml")
            #expect(first["line"] as? Int == 4)
            #expect(first["column"] as? Int == 6)
            #expect(first["severity"] as? String == "error")
        }

        @Test func checkVerifiesTheCatalogAgainstALiveWarehouse() throws {
            let ok = try Self.almanac([
                "catalog", "check", "Catalog", "--warehouse", TestWarehouse.tinyDemo, "--as-of", "2026-11-25",
            ])
            #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
            #expect(ok.stdout.contains("every source and metric runs on"))

            let directory = try TemporaryDirectory()
            let catalog = try CatalogFixture.copyDemo(into: directory)
            // A column the warehouse does not have, and a table it does not have.
            try CatalogFixture.edit(
                catalog + "/sources/users.yaml", replacing: "columns:\n",
                with: "columns:\n  - name: chanel\n    type: string\n")
            try directory.write(
                "Catalog/sources/partners.yaml",
                "id: partners\nname: Partners\nowner: sales\ntable: partners\ncolumns:\n  - name: partner_id\n    type: integer\n"
            )
            let broken = try Self.almanac([
                "catalog", "check", catalog, "--warehouse", TestWarehouse.tinyDemo, "--as-of", "2026-11-25",
            ])
            #expect(broken.status == 1)
            #expect(broken.stdout.contains("sources/users.yaml:"))
            #expect(broken.stdout.contains("column 'chanel' of source 'users' does not exist in table 'users'"))
            #expect(broken.stdout.contains("hint: the table has 'channel'"))
            #expect(
                broken.stdout.contains(
                    "sources/partners.yaml:4:8: error: table 'partners' of source 'partners' does not exist"))
        }

        @Test func checkTakesTheFolderFromTheEnvironment() throws {
            let result = try Self.almanac(
                ["catalog", "check"], environment: ["ALMANAC_CATALOG": "Tests/CatalogTests/Fixtures/minimal"])
            #expect(result.status == 0)
            #expect(result.stdout.hasPrefix("Tests/CatalogTests/Fixtures/minimal: OK"))
        }

        /// The shared options resolve in one order everywhere: the option, then its `ALMANAC_*`
        /// variable, then the default; a malformed variable is named before anything starts.
        @Test func optionsComeBeforeTheEnvironmentWhichComesBeforeDefaults() throws {
            // --catalog beats ALMANAC_CATALOG (which names a catalog without this report).
            let option = try Self.almanac(
                ["search", "growth overview", "--catalog", "Catalog", "--state", "/nonexistent", "--format", "json"],
                environment: ["ALMANAC_CATALOG": "Tests/CatalogTests/Fixtures/minimal"])
            #expect(option.status == 0, "\(option.stderr)")
            #expect(option.stdout.contains("/reports/growth-overview"))
            // The variable beats the default (Catalog/, which has it).
            let variable = try Self.almanac(
                ["search", "growth overview", "--state", "/nonexistent", "--format", "json"],
                environment: ["ALMANAC_CATALOG": "Tests/CatalogTests/Fixtures/minimal"])
            #expect(variable.status == 0, "\(variable.stderr)")
            #expect(!variable.stdout.contains("/reports/growth-overview"))

            let port = try Self.almanac(["serve", "--catalog", "Catalog"], environment: ["ALMANAC_PORT": "80a"])
            #expect(port.status != 0)
            #expect(port.stderr.contains("ALMANAC_PORT '80a' is not a whole number"), "\(port.stderr)")
            let warehouse = try Self.almanac(
                ["generate", "--all", "--warehouse", "/nonexistent/warehouse.sqlite"])
            #expect(warehouse.status != 0)
            #expect(warehouse.stderr.contains("--warehouse: no file at '/nonexistent/warehouse.sqlite'"))
            let missing = try Self.almanac(["generate", "--all"])
            #expect(missing.stderr.contains("--warehouse is required: reports are generated from it"))
            let day = try Self.almanac(["generate", "--all", "--warehouse", "Package.swift", "--as-of", "2026-13-01"])
            #expect(day.stderr.contains("--as-of '2026-13-01' is not a date (YYYY-MM-DD)"), "\(day.stderr)")
        }

        @Test(arguments: [[], ["serve"], ["demo"], ["catalog"], ["catalog", "check"]])
        func everyCommandHasHelp(_ command: [String]) throws {
            let result = try Self.almanac(command + ["--help"])
            #expect(result.status == 0)
            #expect(result.stdout.contains("USAGE: almanac"))
            #expect(result.stdout.contains("-h, --help"))
        }

        @Test func badOptionsAreNamed() throws {
            let port = try Self.almanac(["serve", "--port", "70000"])
            #expect(port.status != 0)
            #expect(port.stderr.contains("--port must be between 0 (any free port) and 65535, got 70000"))
            let cache = try Self.almanac(["serve", "--search-cache-mb=-1"])
            #expect(cache.status != 0)
            #expect(cache.stderr.contains("--search-cache-mb must be between 0 (off) and 65536 (MiB), got -1"))
            let proxy = try Self.almanac(["serve", "--trusted-proxy", "example.com"])
            #expect(proxy.status != 0)
            #expect(proxy.stderr.contains("--trusted-proxy: 'example.com' is not an IP address or CIDR network"))
            let catalog = try Self.almanac(["serve", "--catalog", "Tests/CatalogTests/Fixtures/broken", "--port", "1"])
            #expect(catalog.status == 1)
            #expect(catalog.stderr.contains("has 10 errors"))
            #expect(catalog.stderr.contains("almanac catalog check Tests/CatalogTests/Fixtures/broken"))
        }

        @Test func cliReferenceIsUpToDate() throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Repository.root + "/scripts/update-cli-docs")
            process.arguments = ["--check"]
            process.environment = ProcessInfo.processInfo.environment.merging(["ALMANAC_BINARY": try Self.binary()]) {
                $1
            }
            let out = Pipe()
            process.standardOutput = out
            process.standardError = out
            try process.run()
            let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "docs/cli.md is stale; run scripts/update-cli-docs\n\(output)")
        }

        /// Starts `almanac serve` on the demo catalog and a free port, with `state` as its state
        /// store; returns the process and the port it reported (Hummingbird logs it once it listens).
        static func serve(state: String) throws -> (Process, Int) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try binary())
            process.arguments = [
                "serve", "--catalog", "Catalog", "--state", state, "--port", "0", "--allow-anonymous-loopback",
            ]
            process.currentDirectoryURL = URL(fileURLWithPath: Repository.root)
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            var log = ""
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let chunk = err.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                log += String(decoding: chunk, as: UTF8.self)
                // Only once the number is followed by something: a chunk may end inside it.
                if let range = log.range(of: "listening on 127.0.0.1:"),
                    !log[range.upperBound...].drop(while: \.isNumber).isEmpty,
                    let port = Int(log[range.upperBound...].prefix { $0.isNumber })
                {
                    return (process, port)
                }
            }
            process.terminate()
            throw FixtureError("server did not report its port: \(log)")
        }

        /// GETs `url` from a server the test started, waiting as long as a busy machine needs
        /// (URLSession's own default gives up after a minute).
        static func get(_ url: String) async throws -> (Data, URLResponse) {
            var request = URLRequest(url: URL(string: url)!)
            request.timeoutInterval = 600
            return try await URLSession.shared.data(for: request)
        }

        /// `almanac serve` starts, answers, and stops cleanly on SIGTERM.
        @Test func serveAnswersAndShutsDownGracefully() async throws {
            let state = try TemporaryDirectory()
            let (process, bound) = try Self.serve(state: state.file("state.sqlite"))
            defer { if process.isRunning { process.terminate() } }
            let (data, response) = try await Self.get("http://127.0.0.1:\(bound)/healthz")
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: data, as: UTF8.self) == "ok\n")
            for _ in 0..<3 {
                let (_, page) = try await CLITests.get("http://127.0.0.1:\(bound)/glossary/signups")
                #expect((page as? HTTPURLResponse)?.statusCode == 200)
            }

            process.terminate()  // SIGTERM
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            // Views are buffered in memory; a graceful stop writes every one of them.
            let counts = try await SQLiteStateStore(path: state.file("state.sqlite")).viewCounts(kind: nil, since: nil)
            #expect(counts["metric/signups"] == 3)
        }
    }

    /// Views are written every second (each second's write is tested on a manual clock in
    /// `BackgroundServiceTests`): what was written survives a crash of the binary, so a crash
    /// loses at most the views counted since the last write.
    @Suite(.timeLimit(.minutes(10))) struct ViewDurabilityTests {
        @Test func viewsWrittenBeforeACrashSurviveIt() async throws {
            let state = try TemporaryDirectory()
            let (process, bound) = try CLITests.serve(state: state.file("state.sqlite"))
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
            func view() async throws {
                let (_, page) = try await CLITests.get("http://127.0.0.1:\(bound)/glossary/signups")
                #expect((page as? HTTPURLResponse)?.statusCode == 200)
            }
            for _ in 0..<20 { try await view() }
            // The portal writes what it counted every second: wait until these 20 are on disk.
            let store = try SQLiteStateStore(path: state.file("state.sqlite"))
            #expect(
                try await eventually { try await store.viewCounts(kind: nil, since: nil)["metric/signups"] == 20 },
                "the 20 views were written within a flush")
            for _ in 0..<5 { try await view() }
            kill(process.processIdentifier, SIGKILL)  // no graceful stop: a crash
            process.waitUntilExit()
            let counts = try await SQLiteStateStore(path: state.file("state.sqlite")).viewCounts(kind: nil, since: nil)
            let recorded = counts["metric/signups"] ?? 0
            #expect(recorded >= 20, "views already written survive a crash, got \(recorded)")
            #expect(recorded <= 25)
        }
    }

    /// `almanac generate` killed midway never leaves a half-written dashboard visible.
    @Suite(.timeLimit(.minutes(10))) struct GenerationAtomicityTests {
        @Test func aGenerationKilledMidwayLeavesThePreviousArtifactServed() async throws {
            let directory = try TemporaryDirectory(prefix: "almanac-atomic")
            let artifacts = directory.file("artifacts")
            let arguments = [
                "generate", "--warehouse", TestWarehouse.tinyDemo, "--state", directory.file("state.sqlite"),
                "--artifacts", artifacts, "--as-of", TestWarehouse.asOf.description,
            ]
            let first = try CLITests.almanac(arguments + ["--report", "engagement-overview"])
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            let before = try String(contentsOfFile: artifacts + "/reports/engagement-overview/LATEST", encoding: .utf8)

            // Regenerate everything one report at a time, and kill it hard the moment it is writing a
            // version (a hidden temporary folder exists). The watch is a tight loop on this thread, so
            // a busy machine cannot make it oversleep the write; a run that slips through is retried.
            var caughtMidWrite = false
            for _ in 0..<5 where !caughtMidWrite {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: try CLITests.binary())
                process.arguments = arguments + ["--all", "--parallelism", "1"]
                process.currentDirectoryURL = URL(fileURLWithPath: Repository.root)
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                let deadline = Date().addingTimeInterval(120)
                while process.isRunning, Date() < deadline {
                    let folders = (try? FileManager.default.contentsOfDirectory(atPath: artifacts + "/reports")) ?? []
                    let writing = folders.contains { folder in
                        ((try? FileManager.default.contentsOfDirectory(atPath: artifacts + "/reports/" + folder)) ?? [])
                            .contains { $0.hasPrefix(".tmp-") }
                    }
                    if writing {
                        kill(process.processIdentifier, SIGKILL)
                        caughtMidWrite = true
                        break
                    }
                }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                process.waitUntilExit()
            }
            #expect(caughtMidWrite, "the generation should be killed while it writes a version")

            // Every report's LATEST names a complete version: its manifest and every file in it exist.
            let reports = try FileManager.default.contentsOfDirectory(atPath: artifacts + "/reports")
            for report in reports {
                let folder = artifacts + "/reports/" + report
                guard let latest = try? String(contentsOfFile: folder + "/LATEST", encoding: .utf8) else { continue }
                let manifestData = try #require(
                    FileManager.default.contents(atPath: "\(folder)/\(latest)/manifest.json"))
                let manifest = try #require(try JSONSerialization.jsonObject(with: manifestData) as? [String: Any])
                for file in manifest["files"] as? [String] ?? [] {
                    #expect(FileManager.default.fileExists(atPath: "\(folder)/\(latest)/\(file)"), "\(report)/\(file)")
                }
                #expect(manifest["files"].map { ($0 as? [String])?.contains("dashboard.html") == true } == true)
            }
            let after = try String(contentsOfFile: artifacts + "/reports/engagement-overview/LATEST", encoding: .utf8)
            #expect(
                FileManager.default.fileExists(
                    atPath: artifacts + "/reports/engagement-overview/\(after)/dashboard.html"))
            #expect(!before.isEmpty)
        }
    }
}

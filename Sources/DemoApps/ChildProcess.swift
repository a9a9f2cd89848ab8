import Foundation
public import Logging
public import ServiceLifecycle

/// A program the demo runs beside its portal (Datasette for the support team's app), started
/// with the demo and stopped with it (SIGTERM on graceful shutdown).
///
/// A program that is missing or exits early is logged with where its output went; the demo
/// keeps serving, and the report that fronts it shows the proxy's "report app error".
public struct ChildProcess: Service {
    public let name: String
    public let executable: String
    public let arguments: [String]
    /// Where its standard output and error go.
    public let logFile: String
    /// Why it may be missing and how to install it.
    public let installHint: String
    public let logger: Logger

    public init(
        name: String, executable: String, arguments: [String], logFile: String, installHint: String, logger: Logger
    ) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.logFile = logFile
        self.installHint = installHint
        self.logger = logger
    }

    /// `executable` found on `PATH` (or as given, when it has a slash).
    public static func locate(_ executable: String) -> String? {
        if executable.contains("/") {
            return FileManager.default.isExecutableFile(atPath: executable) ? executable : nil
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// `executable` run through Python, which puts SIGTERM and SIGINT back to their defaults
    /// and then becomes it: the portal's signal handling ignores both, and a child inherits
    /// ignored signals, so without this the child could not be stopped.
    public static func withDefaultSignals(_ executable: String, _ arguments: [String]) -> [String] {
        [
            "python3", "-c",
            "import os, signal, sys; signal.signal(signal.SIGTERM, signal.SIG_DFL); "
                + "signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])",
            executable,
        ] + arguments
    }

    public func run() async throws {
        guard let located = Self.locate(executable) else {
            logger.warning(
                "\(name) is not running: \(executable) is not installed", metadata: ["hint": "\(installHint)"])
            try? await gracefulShutdown()
            return
        }
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let output = FileHandle(forWritingAtPath: logFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = Self.withDefaultSignals(located, arguments)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let (exits, exited) = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { process in
            exited.yield(process.terminationStatus)
            exited.finish()
        }
        do {
            try process.run()
        } catch {
            logger.warning("\(name) could not start", metadata: ["error": "\(error)", "hint": "\(installHint)"])
            try? await gracefulShutdown()
            return
        }
        logger.info("\(name) started", metadata: ["pid": "\(process.processIdentifier)", "log": "\(logFile)"])
        let pid = process.processIdentifier
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                for await status in exits {
                    if !Task.isShuttingDownGracefully {
                        logger.warning(
                            "\(name) exited", metadata: ["status": "\(status)", "log": "\(logFile)"])
                    }
                }
            } onCancel: {
                kill(pid, SIGTERM)
            }
        } onGracefulShutdown: {
            kill(pid, SIGTERM)
            // A program that does not stop within ten seconds is killed: the demo must end.
            Task {
                try? await Task.sleep(for: .seconds(10))
                kill(pid, SIGKILL)
            }
        }
        try? output?.close()
        // An early exit leaves the demo serving; it ends with the demo.
        if !Task.isShuttingDownGracefully { try? await gracefulShutdown() }
    }
}

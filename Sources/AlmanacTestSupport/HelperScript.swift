import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a Python helper (a real SMTP server, a webhook receiver) that prints "port N" once it
/// listens, for the length of `body`, which gets the port; the helper is killed afterwards
/// (SIGKILL: a test process can hand its children SIGTERM blocked).
///
/// - Parameters:
///   - script: the script's path.
///   - what: names the helper in the error when it does not start.
public func withHelperScript<T>(
    _ script: String, _ arguments: [String], what: String, _ body: (Int) async throws -> T
) async throws -> T {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    defer {
        kill(process.processIdentifier, SIGKILL)
        // Foundation's Process can miss a child's exit on Linux under load, and waitUntilExit
        // then spins on a cooperative thread forever (a CI run hung so on 2026-12-06). The kill
        // is what matters; the wait for Foundation to notice it is bounded.
        let patience = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < patience { usleep(10_000) }
    }
    var line = ""
    let deadline = Date().addingTimeInterval(60)
    while !line.contains("\n"), Date() < deadline {
        let chunk = output.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        line += String(decoding: chunk, as: UTF8.self)
    }
    guard
        let port = Int(line.replacingOccurrences(of: "port ", with: "").trimmingCharacters(in: .whitespacesAndNewlines))
    else { throw FixtureError("\(what) did not start: \(line)") }
    return try await body(port)
}

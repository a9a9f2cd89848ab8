import Foundation

/// Waits until `condition` holds: for what a test caused and something else does (a portal's
/// background service, another process) where no event tells when it is done, such as a row
/// in a SQLite file or a message in a Maildir.
///
/// It looks again every few milliseconds. `hangGuard` only stops a test that would otherwise
/// hang: it is minutes, so that a slow machine never changes the outcome, only the time.
///
/// - Returns: whether the condition held (`false` only after the hang guard).
public func eventually(
    hangGuard: Duration = .seconds(300), _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + hangGuard
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

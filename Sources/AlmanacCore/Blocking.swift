import Dispatch

/// Runs blocking work (file walks, index builds) on a Dispatch thread and waits for it,
/// so that it never holds one of the few threads that run Swift concurrency (in `almanac`,
/// NIO's event loops, one per core, which also serve HTTP).
@discardableResult
public func offloaded<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
}

import Synchronization

/// Ids for ``suspendUntilResumed(enqueue:dequeue:)``'s waiters, unique in the process.
private let waiterIDs = Atomic<Int>(0)

/// Suspends the current task until something resumes it or it is cancelled: the waiting part
/// of a gate, a condition or a test's event, whose state the caller keeps under its own lock.
///
/// - Parameters:
///   - enqueue: under the caller's lock, returns `true` when there is nothing to wait for (or
///     `Task.isCancelled`, which it must check under that lock); otherwise keeps `continuation`
///     under `id`, to resume later, and returns `false`.
///   - dequeue: under the caller's lock, removes and returns the continuation kept under `id`,
///     if it is still there: the task was cancelled first.
public func suspendUntilResumed(
    enqueue: (_ id: Int, _ continuation: CheckedContinuation<Void, Never>) -> Bool,
    dequeue: @Sendable (_ id: Int) -> CheckedContinuation<Void, Never>?
) async {
    let id = waiterIDs.wrappingAdd(1, ordering: .relaxed).oldValue
    await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if enqueue(id, continuation) { continuation.resume() }
        }
    } onCancel: {
        dequeue(id)?.resume()
    }
}

import Synchronization

/// A one-way gate: tasks wait until it is opened, once, and never after.
///
/// The portal's background services start beside the state store's migrations; they wait on
/// one of these before their first query, so none reads a table that is not there yet.
public final class Gate: Sendable {
    private struct State {
        var open = false
        var waiting: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextID = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// Returns once the gate is open (at once if it already is), or when the waiting task is
    /// cancelled (check `isOpen` to tell which).
    public func wait() async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.open || Task.isCancelled { return true }
                    state.waiting.append((id, continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiting.remove(at: index).continuation
            }
            waiter?.resume()
        }
    }

    /// Opens the gate and lets every waiting task go.
    public func open() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiting.removeAll() }
            return state.waiting.map(\.continuation)
        }
        for continuation in waiting { continuation.resume() }
    }

    public var isOpen: Bool { state.withLock { $0.open } }
}

import Synchronization

/// A one-way gate: tasks wait until it is opened, once, and never after.
///
/// The portal's background services start beside the state store's migrations; they wait on
/// one of these before their first query, so none reads a table that is not there yet.
public final class Gate: Sendable {
    private struct State {
        var open = false
        var waiting: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let state = Mutex(State())

    public init() {}

    /// Returns once the gate is open (at once if it already is), or when the waiting task is
    /// cancelled (check `isOpen` to tell which).
    public func wait() async {
        await suspendUntilResumed { id, continuation in
            state.withLock { state in
                if state.open || Task.isCancelled { return true }
                state.waiting.append((id, continuation))
                return false
            }
        } dequeue: { id in
            state.withLock { state in
                state.waiting.firstIndex { $0.id == id }.map { state.waiting.remove(at: $0).continuation }
            }
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

public import AlmanacCore
public import Foundation
import Synchronization

/// A clock that moves only when a test moves it.
///
/// Services under test sleep on it as on the system clock; ``advance(by:)`` wakes every sleeper
/// whose deadline has come, and ``sleepers(atLeast:)`` waits (for the event, not for a while)
/// until the services have gone back to sleep. A test therefore says "two seconds pass" and
/// then checks what happened, however slow the machine is:
///
/// ```swift
/// let clock = ManualClock(now: date("2026-11-26T06:00:00Z"))
/// let worker = Task { try await service.run() }
/// await clock.sleepers(atLeast: 1)      // the service is waiting for its first tick
/// clock.advance(by: .seconds(2))        // the tick comes
/// await clock.sleepers(atLeast: 1)      // it did its work and waits again
/// ```
public final class ManualClock: WallClock {
    private struct Sleeper {
        var id: Int
        var deadline: WallInstant
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct Watcher {
        var id: Int
        var count: Int
        var continuation: CheckedContinuation<Void, Never>
    }
    private struct State {
        var now: WallInstant
        var sleepers: [Sleeper] = []
        var watchers: [Watcher] = []
        var nextID = 0
        /// Sleeps that ended because their deadline came (not cancelled ones).
        var wakeUps = 0
    }
    private let state: Mutex<State>

    /// - Parameter now: where time starts; by default noon (UTC) of the current day, so that a
    ///   test that moves the clock by minutes or hours stays on one day whenever it runs.
    public init(now: Date = ManualClock.noonToday) {
        state = Mutex(State(now: WallInstant(now)))
    }

    /// 12:00 UTC of the current day.
    public static var noonToday: Date {
        let day = (Date().timeIntervalSince1970 / 86_400).rounded(.down)
        return Date(timeIntervalSince1970: day * 86_400 + 43_200)
    }

    public var now: WallInstant { state.withLock { $0.now } }

    public var minimumResolution: Duration { .zero }

    public func sleep(until deadline: WallInstant, tolerance: Duration?) async throws {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let outcome {
                    continuation.resume(with: outcome)
                } else {
                    notifyWatchers()
                }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward by `duration` and wakes every sleeper whose deadline has come (they
    /// are resumed soonest first, then run concurrently). Code that was not yet asleep sees the
    /// new time when it sleeps. To see sleepers wake in order, advance to each deadline in turn.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a manual clock only moves forward")
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            state.wakeUps += due.count
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Moves time forward to `date` (never back).
    public func advance(to date: Date) {
        let distance = now.duration(to: WallInstant(date))
        advance(by: max(distance, .zero))
    }

    /// How many tasks are asleep on this clock right now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// How many sleeps have ended because their deadline came.
    public var wakeUps: Int { state.withLock { $0.wakeUps } }

    /// The soonest deadline anyone sleeps until.
    public var nextDeadline: Date? { state.withLock { $0.sleepers.map(\.deadline).min()?.date } }

    /// Returns once at least `count` tasks are asleep on this clock: the services being tested
    /// have finished what they were doing and wait for time to pass. Every sleep counts, time
    /// limits (``AlmanacCore/withDeadline(_:clock:_:)``) on this clock too. Returns early if the
    /// waiting task is cancelled (a test's time limit).
    public func sleepers(atLeast count: Int) async {
        await suspendUntilResumed { id, continuation in
            state.withLock { state in
                if state.sleepers.count >= count || Task.isCancelled { return true }
                state.watchers.append(Watcher(id: id, count: count, continuation: continuation))
                return false
            }
        } dequeue: { id in
            state.withLock { state in
                state.watchers.firstIndex { $0.id == id }.map { state.watchers.remove(at: $0).continuation }
            }
        }
    }

    private func notifyWatchers() {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let count = state.sleepers.count
            let ready = state.watchers.filter { $0.count <= count }.map(\.continuation)
            state.watchers.removeAll { $0.count <= count }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }
}

extension Duration {
    /// `days` whole days of 86,400 seconds (what tests move a clock by).
    public static func days(_ days: Int) -> Duration { .seconds(days * 86_400) }
    /// `hours` whole hours.
    public static func hours(_ hours: Int) -> Duration { .seconds(hours * 3_600) }
}

public import Foundation
import Synchronization

/// A moment on the wall clock, as Almanac's clocks measure time.
///
/// One clock answers both "what time is it" (schedules are cron times in a time zone, views
/// and runs are stamped with dates) and "wake me in two seconds", so a test that moves the
/// clock moves both together. Instants are kept as an exact duration since 1970, so that
/// adding an interval k times and adding it once k-fold give the same instant.
public struct WallInstant: InstantProtocol, Sendable, Hashable, CustomStringConvertible {
    /// Time since 1970-01-01 00:00 UTC.
    public var sinceEpoch: Duration

    public init(_ date: Date) { sinceEpoch = .seconds(date.timeIntervalSince1970) }

    public init(sinceEpoch: Duration) { self.sinceEpoch = sinceEpoch }

    /// The instant as a Foundation date.
    public var date: Date { Date(timeIntervalSince1970: sinceEpoch.timeInterval) }

    public func advanced(by duration: Duration) -> WallInstant { WallInstant(sinceEpoch: sinceEpoch + duration) }

    public func duration(to other: WallInstant) -> Duration { other.sinceEpoch - sinceEpoch }

    public static func < (lhs: WallInstant, rhs: WallInstant) -> Bool { lhs.sinceEpoch < rhs.sinceEpoch }

    /// Whether this instant is less than `duration` before `now`: a cache entry made at this
    /// instant is still fresh. One from the future (the clock was stepped back) is not.
    public func isWithin(_ duration: Duration, of now: WallInstant) -> Bool {
        self <= now && self.duration(to: now) < duration
    }

    public var description: String { date.description }
}

/// Where Almanac's services read the time and how they wait for it: ``SystemClock`` in
/// production, a manual clock in tests (`AlmanacTestSupport`), so that schedules, leases,
/// cooldowns, backoff, cache expiry and flush intervals happen when a test moves time, not
/// when the machine gets round to it.
///
/// It is a `Clock<Duration>` whose instants are dates; `clock.now.date` is the current time.
public protocol WallClock: Clock, Sendable where Instant == WallInstant {}

extension WallClock {
    /// The current wall-clock time.
    public var date: Date { now.date }
}

/// The system's clock: `Date()` for the time, the continuous clock for waiting.
///
/// A sleep until an instant becomes a wait on the continuous clock for the distance from
/// `Date()` when it starts: a wall-clock step while it waits (NTP, a resumed VM) moves that
/// one wake-up. Loops read `now` again when they wake, and ``Ticker`` starts over from the
/// new time when the clock went back, so no loop stalls by the size of a step.
public struct SystemClock: WallClock {
    public init() {}

    public var now: WallInstant { WallInstant(Date()) }

    public var minimumResolution: Duration { .microseconds(1) }

    public func sleep(until deadline: WallInstant, tolerance: Duration?) async throws {
        let delay = deadline.date.timeIntervalSinceNow
        guard delay > 0 else { return try Task.checkCancellation() }
        try await Task.sleep(for: .seconds(delay), tolerance: tolerance, clock: .continuous)
    }
}

extension Duration {
    /// The duration in seconds, as Foundation counts them.
    public var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// The work did not finish within its time limit.
public struct DeadlineExceeded: Error, Hashable {
    public init() {}
}

/// Runs `work` and cancels it when `limit` passes on `clock` before it ends; then, once the
/// work has ended, throws ``DeadlineExceeded``.
///
/// Which came first, the work's end or the deadline, decides; not which of the two this task
/// gets to see first (a busy machine may run the timer late or early). Work that ended before
/// the deadline returns its result or throws its own error. Whatever work that was still
/// running at the deadline throws afterwards (a `CancellationError`, an interrupted query, a
/// cancelled request) is the deadline; a result it still produces is returned. The deadline is
/// measured on `clock`, so a test decides when it passes.
///
/// - Throws: ``DeadlineExceeded``; otherwise what `work` threw (`CancellationError` when the
///   caller was cancelled).
public func withDeadline<T: Sendable>(
    _ limit: Duration, clock: any WallClock = SystemClock(),
    _ work: @escaping @Sendable () async throws -> T
) async throws -> T {
    let deadline = clock.now.advanced(by: limit)
    let phase = DeadlinePhase()
    let task = Task {
        defer { phase.end() }
        return try await work()
    }
    let timer = Task {
        guard (try? await clock.sleep(until: deadline, tolerance: nil)) != nil else { return }
        if phase.expire() { task.cancel() }
    }
    defer { timer.cancel() }
    do {
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    } catch {
        if phase.expired { throw DeadlineExceeded() }
        throw error
    }
}

/// Whether a deadline's work is still running, ended on its own, or was cut off; whichever of
/// the work and the timer comes first decides.
private final class DeadlinePhase: Sendable {
    private enum State { case running, ended, expired }
    private let state = Mutex(State.running)

    func end() { state.withLock { if $0 == .running { $0 = .ended } } }

    /// Marks the work as cut off, unless it already ended; whether it was.
    func expire() -> Bool {
        state.withLock { state in
            guard state == .running else { return false }
            state = .expired
            return true
        }
    }

    var expired: Bool { state.withLock { $0 == .expired } }
}

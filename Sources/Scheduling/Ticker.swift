public import AlmanacCore
import ServiceLifecycle

/// The rhythm of a background loop: a beat every `interval` on an injected clock, until the
/// service is asked to stop.
///
/// Each beat is counted from the one before, not from when the loop got round to sleeping,
/// so a test that moves a manual clock past the next beat wakes the loop whether or not it
/// was already asleep. A pass that overruns (or a clock that jumps) gets one beat at once for
/// all it missed, not a burst of them.
///
/// ```swift
/// var ticker = Ticker(every: .seconds(1), on: clock)
/// while await ticker.tick() { await flush() }
/// ```
public struct Ticker: Sendable {
    public let clock: any WallClock
    /// The gap to the next beat; a loop that paces itself by how long its work takes changes it.
    public var interval: Duration
    /// The latest beat (the start, before the first).
    public private(set) var last: WallInstant

    /// - Parameter start: where beats count from (now by default). A service passes the time
    ///   it was built, so that time a test lets pass before the service runs is not lost.
    public init(every interval: Duration, on clock: any WallClock, from start: WallInstant? = nil) {
        self.clock = clock
        self.interval = interval
        self.last = start ?? clock.now
    }

    /// When the next beat comes.
    public var next: WallInstant { last.advanced(by: interval) }

    /// Waits for the next beat. Returns `false` when the service should stop instead (graceful
    /// shutdown or cancellation), without waiting for the beat.
    public mutating func tick() async -> Bool {
        // The clock went back (a wall-clock step): count from now, or the loop would stall
        // by the size of the step.
        let now = clock.now
        if last > now { last = now }
        let beat = next
        guard await clock.sleepUnlessStopping(until: beat) else { return false }
        last = beat
        // Behind by whole beats: they are dropped, and this pass stands for them.
        let behind = last.duration(to: clock.now)
        if interval > .zero, behind >= interval { last = last.advanced(by: interval * Int(behind / interval)) }
        return true
    }
}

extension WallClock {
    /// Sleeps until `deadline`, or until a graceful shutdown or cancellation comes first.
    /// Returns whether the service may go on.
    public func sleepUnlessStopping(until deadline: WallInstant) async -> Bool {
        if Task.isShuttingDownGracefully || Task.isCancelled { return false }
        try? await cancelWhenGracefulShutdown { try await self.sleep(until: deadline, tolerance: nil) }
        return !Task.isShuttingDownGracefully && !Task.isCancelled
    }
}

import AlmanacCore
import AlmanacTestSupport
import Foundation
import Logging
import Scheduling
import ServiceLifecycle
import Synchronization
import Testing

/// What happened, in order, for the assertions below.
final class Log: Sendable {
    private let entries = Mutex<[String]>([])
    func add(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

/// The manual clock: time moves when the test says, sleepers wake in deadline order, and a
/// test can wait until the code under test is asleep again.
@Suite(.timeLimit(.minutes(10))) struct ManualClockTests {
    let start = Date(timeIntervalSince1970: 1_795_737_600)  // 2026-11-27 00:00 UTC

    @Test func sleepersWakeWhenTheirTimeComesInDeadlineOrder() async throws {
        let clock = ManualClock(now: start)
        let log = Log()
        let late = Task {
            try await clock.sleep(until: clock.now.advanced(by: .seconds(10)), tolerance: nil)
            log.add("10 s")
        }
        let soon = Task {
            try await clock.sleep(until: clock.now.advanced(by: .seconds(2)), tolerance: nil)
            log.add("2 s")
        }
        await clock.sleepers(atLeast: 2)
        clock.advance(by: .seconds(1))
        #expect(clock.sleeperCount == 2, "neither deadline has come")
        clock.advance(by: .seconds(1))
        try await soon.value
        #expect(log.all == ["2 s"])
        #expect(clock.sleeperCount == 1)
        clock.advance(to: start.addingTimeInterval(60))
        try await late.value
        #expect(log.all == ["2 s", "10 s"])
        #expect(clock.date == start.addingTimeInterval(60))
        #expect(clock.wakeUps == 2)
    }

    @Test func aSleepWhoseTimeHasPassedReturnsAtOnceAndACancelledOneThrows() async throws {
        let clock = ManualClock(now: start)
        try await clock.sleep(until: WallInstant(start), tolerance: nil)
        #expect(clock.sleeperCount == 0)
        let sleeper = Task { try await clock.sleep(for: .seconds(60)) }
        await clock.sleepers(atLeast: 1)
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0, "a cancelled sleeper leaves")
        #expect(clock.wakeUps == 0)
    }
}

/// A loop's beats on an injected clock: counted from the previous beat, one beat for all that
/// a slow pass or a jump missed, and an end on graceful shutdown without waiting.
@Suite(.timeLimit(.minutes(10))) struct TickerTests {
    let start = Date(timeIntervalSince1970: 1_795_737_600)

    /// Runs a ticker loop that logs the clock's time at each beat, as a service does.
    func loop(_ clock: ManualClock, every interval: Duration, log: Log) -> Task<Void, Never> {
        Task {
            var ticker = Ticker(every: interval, on: clock)
            while await ticker.tick() {
                log.add("\(Int(clock.date.timeIntervalSince(start)))")
            }
            log.add("stopped")
        }
    }

    @Test func beatsComeEveryIntervalAndNotBefore() async throws {
        let clock = ManualClock(now: start)
        let log = Log()
        let task = loop(clock, every: .seconds(2), log: log)
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(1))
        await clock.sleepers(atLeast: 1)
        #expect(log.all.isEmpty, "half an interval is no beat")
        for _ in 0..<3 {
            clock.advance(by: .seconds(1))
            await clock.sleepers(atLeast: 1)
            clock.advance(by: .seconds(1))
            await clock.sleepers(atLeast: 1)
        }
        #expect(log.all == ["2", "4", "6"])
        task.cancel()
        await task.value
        #expect(log.all.last == "stopped")
    }

    @Test func aJumpOverManyBeatsIsOneBeat() async throws {
        let clock = ManualClock(now: start)
        let log = Log()
        let task = loop(clock, every: .seconds(2), log: log)
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(61))
        await clock.sleepers(atLeast: 1)
        #expect(log.all == ["61"], "one beat for the thirty it missed")
        clock.advance(by: .seconds(1))
        await clock.sleepers(atLeast: 1)
        #expect(log.all == ["61", "62"], "and the next on the old rhythm (every even second)")
        task.cancel()
        await task.value
    }

    @Test func timeThatPassesWhileTheLoopWorksIsNotLost() async throws {
        // The test moves the clock before the loop has gone to sleep: the beat still comes.
        let clock = ManualClock(now: start)
        let log = Log()
        clock.advance(by: .seconds(2))
        let task = Task {
            var ticker = Ticker(every: .seconds(2), on: clock)
            clock.advance(by: .seconds(2))  // while "working", before the first sleep
            while await ticker.tick() { log.add("\(Int(clock.date.timeIntervalSince(start)))") }
        }
        await clock.sleepers(atLeast: 1)
        #expect(log.all == ["4"])
        task.cancel()
        await task.value
    }

    @Test func aGracefulShutdownEndsTheWaitAtOnce() async throws {
        let clock = ManualClock(now: start)
        let log = Log()
        struct Looping: Service {
            let clock: ManualClock
            let log: Log
            func run() async throws {
                var ticker = Ticker(every: .seconds(3600), on: clock)
                while await ticker.tick() { log.add("beat") }
                log.add("stopped")
            }
        }
        let group = ServiceGroup(
            services: [Looping(clock: clock, log: log)], gracefulShutdownSignals: [], logger: .init(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await clock.sleepers(atLeast: 1)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(log.all == ["stopped"], "no beat, and no hour's wait")
        #expect(clock.date == start)
    }
}

/// A time limit on a manual clock: the work is cut off when the test lets the limit pass,
/// and only then.
@Suite(.timeLimit(.minutes(10))) struct DeadlineTests {
    @Test func workThatOutlivesItsLimitIsCancelledAndReportedAsTheDeadline() async throws {
        let clock = ManualClock()
        let cancelled = Log()
        let result = Task {
            try await withDeadline(.seconds(5), clock: clock) {
                do {
                    try await Task.sleep(for: .seconds(3600))
                } catch {
                    cancelled.add("cancelled")
                    throw error
                }
                return "finished"
            }
        }
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(4))
        #expect(cancelled.all.isEmpty, "4 s is within the limit")
        clock.advance(by: .seconds(1))
        await #expect(throws: DeadlineExceeded.self) { _ = try await result.value }
        #expect(cancelled.all == ["cancelled"], "the work was stopped, not left running")
    }

    @Test func workThatEndsInTimeKeepsItsResultOrItsOwnError() async throws {
        let clock = ManualClock()
        #expect(try await withDeadline(.seconds(5), clock: clock) { "finished" } == "finished")
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            _ = try await withDeadline(.seconds(5), clock: clock) { () async throws -> Int in throw Refused() }
        }
        // The limit passing after the work ended changes nothing.
        clock.advance(by: .seconds(60))
        #expect(clock.sleeperCount == 0, "the timer is gone with the work")
    }

    @Test func aCallerThatGoesAwayCancelsTheWork() async throws {
        let clock = ManualClock()
        let cancelled = Log()
        let caller = Task {
            try await withDeadline(.seconds(5), clock: clock) {
                do { try await Task.sleep(for: .seconds(3600)) } catch {
                    cancelled.add("cancelled")
                    throw error
                }
            }
        }
        await clock.sleepers(atLeast: 1)
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(cancelled.all == ["cancelled"])
    }
}

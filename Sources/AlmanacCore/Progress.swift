import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where long work (demo data, generation, index builds) reports how far it got.
///
/// On a terminal it draws one updating bar per task; otherwise it writes one
/// structured line every few percent, so logs stay readable.
public protocol ProgressSink: Sendable {
    /// Reports that `completed` of `total` units of `task` are done.
    func update(_ task: String, completed: Int, total: Int)
    /// Marks `task` as finished.
    func finish(_ task: String)
}

/// A sink that ignores everything, for library callers that do not care.
public struct SilentProgress: ProgressSink {
    public init() {}
    public func update(_ task: String, completed: Int, total: Int) {}
    public func finish(_ task: String) {}
}

/// Progress on standard error: a redrawn bar on a TTY, `progress task=… done=… total=…` lines elsewhere.
public final class ConsoleProgress: ProgressSink {
    private struct State {
        var lastPercent: [String: Int] = [:]
        var lastDraw: ContinuousClock.Instant?
    }
    private let isTTY: Bool
    private let state = Mutex(State())

    /// - Parameter isTTY: whether standard error is a terminal; detected when `nil`.
    public init(isTTY: Bool? = nil) {
        self.isTTY = isTTY ?? (isatty(STDERR_FILENO) == 1)
    }

    public func update(_ task: String, completed: Int, total: Int) {
        let percent = total > 0 ? min(100, completed * 100 / total) : 0
        let line: String? = state.withLock { state in
            if isTTY {
                let now = ContinuousClock.now
                // NB: redraw at most ~10 times a second; a bar that flickers costs more than the work.
                if let last = state.lastDraw, now - last < .milliseconds(100), percent < 100 { return nil }
                state.lastDraw = now
                let width = 30
                let filled = width * percent / 100
                let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                return "\r\u{1B}[2K\(task) \(bar) \(percent)% (\(completed.formatted())/\(total.formatted()))"
            }
            let previous = state.lastPercent[task] ?? -100
            guard percent - previous >= 10 || (percent == 100 && previous != 100) else { return nil }
            state.lastPercent[task] = percent
            return "progress task=\"\(task)\" done=\(completed) total=\(total) percent=\(percent)\n"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    public func finish(_ task: String) {
        if isTTY {
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(task) done\n".utf8))
        } else {
            FileHandle.standardError.write(Data("progress task=\"\(task)\" finished\n".utf8))
        }
    }
}

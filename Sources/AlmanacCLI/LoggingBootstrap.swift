public import Logging
import Synchronization

/// Bootstraps swift-log once per process (it traps on a second bootstrap).
public enum LoggingBootstrap {
    private static let done = Mutex(false)

    public static func once(level: Logger.Level) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

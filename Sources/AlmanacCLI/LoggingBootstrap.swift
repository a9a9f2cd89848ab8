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
            return LazyMetadataLogHandler(handler)
        }
    }
}

/// `StreamLogHandler`'s output, with metadata formatted when a message is written rather than
/// whenever it is set.
///
/// `StreamLogHandler` formats all of a logger's metadata each time a key is set. The portal sets
/// the request id and the reader on every request's logger (and Hummingbird its own request id),
/// while nearly every request logs nothing at the default level: three formattings per request
/// were 3% of a cached page's CPU. The lines written are the same.
struct LazyMetadataLogHandler: LogHandler {
    private var stream: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    init(_ stream: StreamLogHandler) {
        self.stream = stream
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            // The message's own metadata wins, as in `StreamLogHandler`.
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        stream.log(event: event)
    }
}

import Logging
import Synchronization
import Testing

@testable import AlmanacCLI

/// The portal's log handler writes what `StreamLogHandler` writes, metadata included, though it
/// formats metadata only when a line is written.
@Suite struct LoggingTests {
    /// Lines written, in order.
    final class Lines: TextOutputStream, Sendable {
        private let lines = Mutex<[String]>([])
        func write(_ string: String) { lines.withLock { $0.append(string) } }
        /// The lines without their timestamps (the first word).
        var withoutTimestamps: [String] { lines.withLock { $0 }.map { String($0.drop { $0 != " " }) } }
    }

    @Test func linesAreThoseOfTheStreamHandler() {
        let expected = Lines()
        let written = Lines()
        func logger(_ handler: some LogHandler) -> Logger {
            var logger = Logger(label: "almanac") { _ in handler }
            logger.logLevel = .info
            return logger
        }
        let plain = logger(StreamLogHandler(label: "almanac", stream: expected, metadataProvider: nil))
        let lazy = logger(
            LazyMetadataLogHandler(StreamLogHandler(label: "almanac", stream: written, metadataProvider: nil)))
        for var logger in [plain, lazy] {
            logger.info("before any metadata")
            logger[metadataKey: "request_id"] = "abc-1"
            logger[metadataKey: "user"] = "ann"
            logger.warning("request failed", metadata: ["error": "boom", "user": "bob"])
            logger[metadataKey: "user"] = nil
            logger.debug("below the level")
            logger.error("plain")
        }
        plain.info("done")
        lazy.info("done")
        #expect(expected.withoutTimestamps.count == 4)
        #expect(written.withoutTimestamps == expected.withoutTimestamps)
        #expect(written.withoutTimestamps[1].contains("error=boom request_id=abc-1 user=bob"))
    }
}

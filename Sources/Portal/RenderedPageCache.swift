import AlmanacCore
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Rendered pages kept in memory, split around the one number that changes between
/// requests (the view count), so a hit is a dictionary lookup and one copy.
final class RenderedPageCache: Sendable {
    /// Everything a cached page depends on besides its view count.
    struct Key: Hashable, Sendable {
        var path: String
        var artifactVersion: String?
        var catalogVersion: String
        var viewer: Viewer
        var catalogBroken: Bool
        var minute: Int
        /// The stale-dashboard notice shown while remote generators fail.
        var notice: String? = nil
    }

    /// A page's bytes before and after the view count.
    struct Entry: Sendable {
        let prefix: ByteBuffer
        let suffix: ByteBuffer

        init(html: String) {
            let marker = String(RenderedPageCache.placeholder)
            if let range = html.range(of: marker) {
                prefix = ByteBuffer(string: String(html[..<range.lowerBound]))
                suffix = ByteBuffer(string: String(html[range.upperBound...]))
            } else {
                prefix = ByteBuffer(string: html)
                suffix = ByteBuffer()
            }
        }

        func filled(with count: Int) -> ByteBuffer {
            let number = count.formatted()
            var buffer = ByteBuffer()
            buffer.reserveCapacity(prefix.readableBytes + number.utf8.count + suffix.readableBytes)
            buffer.writeImmutableBuffer(prefix)
            if suffix.readableBytes > 0 { buffer.writeString(number) }
            buffer.writeImmutableBuffer(suffix)
            return buffer
        }
    }

    /// Rendered in place of the view count, then cut out; no page shows this number otherwise.
    static let placeholder = 9_090_909_090_909_090

    private let entries = Mutex([Key: Entry]())
    private let capacity: Int

    init(capacity: Int = 512) {
        self.capacity = capacity
    }

    func page(for key: Key) -> Entry? { entries.withLock { $0[key] } }

    func store(_ entry: Entry, for key: Key) {
        entries.withLock { entries in
            // NB: a full cache starts over rather than tracking recency; keys expire by the minute anyway.
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = entry
        }
    }
}

/// The search answer as JSON bytes, written directly.
///
/// `/api/search` is the portal's busiest JSON endpoint (type-ahead and the page both call
/// it), and Foundation's `JSONEncoder` took a fifth of its time under load; this writer
/// produces the same document (sorted keys, absent nils, unescaped slashes) at a fraction
/// of the cost. A test checks it against `JSONEncoder` on real results.
extension SearchPageModel {
    public func jsonBytes() -> [UInt8] {
        var out = JSONBytes()
        out.object {
            $0.key("corrections") { writer in
                writer.object { object in
                    for (from, to) in corrections.sorted(by: { $0.key < $1.key }) {
                        object.key(from) { $0.string(to) }
                    }
                }
            }
            if let didYouMean { $0.key("didYouMean") { $0.link(didYouMean) } }
            $0.key("empty") { $0.bool(empty) }
            $0.key("facets") { writer in writer.array(facets) { $0.facet($1) } }
            $0.key("hits") { writer in writer.array(hits) { $0.hit($1) } }
            if let nextURL { $0.key("nextURL") { $0.string(nextURL) } }
            if let notice { $0.key("notice") { $0.string(notice) } }
            if let previousURL { $0.key("previousURL") { $0.string(previousURL) } }
            $0.key("query") { $0.string(query) }
            $0.key("showingFrom") { $0.int(showingFrom) }
            $0.key("showingTo") { $0.int(showingTo) }
            if let statusHint { $0.key("statusHint") { $0.string(statusHint) } }
            $0.key("total") { $0.int(total) }
        }
        return out.bytes
    }
}

/// A minimal JSON writer for the shapes above.
struct JSONBytes {
    var bytes: [UInt8] = []
    private var needsComma = false

    init() { bytes.reserveCapacity(8_192) }

    mutating func object(_ body: (inout JSONBytes) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func array<T>(_ items: [T], _ element: (inout JSONBytes, T) -> Void) {
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        for item in items {
            if needsComma { bytes.append(UInt8(ascii: ",")) }
            element(&self, item)
            needsComma = true
        }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    mutating func key(_ name: String, _ value: (inout JSONBytes) -> Void) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
        value(&self)
        needsComma = true
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Runs that need no escape (nearly all text) are copied whole.
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { utf8 in
            var start = 0
            for (position, byte) in utf8.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                bytes.append(contentsOf: utf8[start..<position])
                escape(byte)
                start = position + 1
            }
            bytes.append(contentsOf: utf8[start...])
        }
        if copied == nil {
            for byte in text.utf8 {
                if byte < 0x20 || byte == 0x22 || byte == 0x5C { escape(byte) } else { bytes.append(byte) }
            }
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// The escape of a quote, a backslash or a control character.
    private mutating func escape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
        case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
        case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
        case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
        case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
        default:
            let hex = Array("0123456789abcdef".utf8)
            bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")]
            bytes += [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
        }
    }

    mutating func int(_ value: Int) {
        bytes += Array(String(value).utf8)
        needsComma = true
    }

    mutating func double(_ value: Double) {
        bytes += Array((value.isFinite ? String(value) : "0").utf8)
        needsComma = true
    }

    mutating func bool(_ value: Bool) {
        bytes += Array((value ? "true" : "false").utf8)
        needsComma = true
    }

    mutating func link(_ link: SearchLinkModel) {
        object {
            $0.key("text") { $0.string(link.text) }
            $0.key("url") { $0.string(link.url) }
        }
    }

    mutating func facet(_ facet: FacetGroupModel) {
        object {
            $0.key("name") { $0.string(facet.name) }
            $0.key("parameter") { $0.string(facet.parameter) }
            $0.key("values") { writer in
                writer.array(facet.values) { writer, value in
                    writer.object {
                        $0.key("count") { $0.int(value.count) }
                        $0.key("label") { $0.string(value.label) }
                        $0.key("selected") { $0.bool(value.selected) }
                        $0.key("url") { $0.string(value.url) }
                        $0.key("value") { $0.string(value.value) }
                    }
                }
            }
        }
    }

    mutating func hit(_ hit: SearchHitModel) {
        object {
            $0.key("certified") { $0.bool(hit.certified) }
            if let entityLabel = hit.entityLabel { $0.key("entityLabel") { $0.string(entityLabel) } }
            if let explain = hit.explain { $0.key("explain") { $0.string(explain) } }
            $0.key("id") { $0.string(hit.id) }
            $0.key("isEntity") { $0.bool(hit.isEntity) }
            $0.key("kind") { $0.string(hit.kind) }
            $0.key("kindLabel") { $0.string(hit.kindLabel) }
            $0.key("score") { $0.double(hit.score) }
            $0.key("snippet") { $0.string(hit.snippet) }
            $0.key("snippetHTML") { $0.string(hit.snippetHTML) }
            if let status = hit.status { $0.key("status") { $0.string(status) } }
            if let teamName = hit.teamName { $0.key("teamName") { $0.string(teamName) } }
            $0.key("title") { $0.string(hit.title) }
            $0.key("titleHTML") { $0.string(hit.titleHTML) }
            $0.key("url") { $0.string(hit.url) }
            $0.key("views30") { $0.int(hit.views30) }
        }
    }
}

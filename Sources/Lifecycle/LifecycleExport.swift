import AlmanacCore
public import Catalog
public import Foundation

/// Writes the lifecycle overlay back to the catalog: as a YAML patch (file → keys) to
/// review, or into the files themselves, so the next commit makes git say what the portal
/// already serves.
public enum LifecycleExport {
    /// One catalog file's changed top-level keys; a `nil` value removes the key.
    public struct FilePatch: Sendable, Hashable {
        public var file: String
        public var item: ItemKey
        public var keys: [(key: String, value: String?)]

        public init(file: String, item: ItemKey, keys: [(key: String, value: String?)]) {
            self.file = file
            self.item = item
            self.keys = keys
        }

        public static func == (lhs: FilePatch, rhs: FilePatch) -> Bool {
            lhs.file == rhs.file && lhs.item == rhs.item && lhs.keys.map(\.key) == rhs.keys.map(\.key)
                && lhs.keys.map(\.value) == rhs.keys.map(\.value)
        }
        public func hash(into hasher: inout Hasher) {
            hasher.combine(file)
            hasher.combine(item)
        }
    }

    /// The patches that make the files declare what `overlay` changes, in file order; files
    /// are named relative to `directory`, the catalog folder.
    public static func patches(overlay: CatalogOverlay, declared catalog: Catalog, directory: String) -> [FilePatch] {
        var patches: [FilePatch] = []
        let root = directory.hasSuffix("/") ? directory : directory + "/"
        for (key, entry) in overlay.entries.sorted(by: { $0.key < $1.key }) {
            guard var file = catalog.origins[key]?.file else { continue }
            if file.hasPrefix(root) { file.removeFirst(root.count) }
            var keys: [(String, String?)] = []
            if let change = entry.status {
                keys.append(("status", change.status.rawValue))
                let live = change.status == .active
                keys.append(("status_reason", live ? nil : change.reason.map(quoted)))
                keys.append(("replaced_by", live ? nil : change.replacement))
            }
            if let owner = entry.owner { keys.append(("owner", owner.rawValue)) }
            if let certified = entry.certified { keys.append(("certified", certified ? "true" : "false")) }
            patches.append(FilePatch(file: file, item: key, keys: keys))
        }
        return patches.sorted { $0.file < $1.file }
    }

    /// The patches as one YAML document: file → { key: value } (`null` removes a key).
    public static func yaml(_ patches: [FilePatch], generatedAt: Date) -> String {
        var text = """
            # Lifecycle actions taken in the portal that the catalog files do not say yet.
            # Written by `almanac lifecycle export` at \(ISO8601DateFormatter().string(from: generatedAt)).
            # Apply with `almanac lifecycle export --write`, review the diff and commit it.

            """
        if patches.isEmpty { text += "{}\n" }
        for patch in patches {
            text += "\(patch.file):\n"
            for (key, value) in patch.keys { text += "  \(key): \(value ?? "null")\n" }
        }
        return text
    }

    /// Applies `patches` to the files under `directory`, then checks that the catalog still
    /// loads and declares what the overlay said; on any failure every file is put back as it was.
    /// - Returns: the files written.
    public static func write(_ patches: [FilePatch], directory: String) throws -> [String] {
        var originals: [String: Data] = [:]
        func path(_ file: String) -> String { file.hasPrefix("/") ? file : "\(directory)/\(file)" }
        do {
            for patch in patches {
                let url = URL(fileURLWithPath: path(patch.file))
                let data = try Data(contentsOf: url)
                if originals[patch.file] == nil { originals[patch.file] = data }
                let text = apply(patch.keys, to: String(decoding: data, as: UTF8.self))
                try Data(text.utf8).write(to: url, options: .atomic)
            }
            let result = CatalogLoader.load(directory: directory)
            guard let catalog = result.catalog else {
                let errors = result.diagnostics.filter { $0.severity == .error }.map(\.description)
                throw LifecycleExportError(
                    "the catalog no longer loads after the edit, so nothing was written:\n"
                        + errors.joined(separator: "\n"))
            }
            for patch in patches {
                let declared = LifecycleLedger.declared(patch.item, in: catalog)
                guard let declared, matches(entry(patch), declared) else {
                    throw LifecycleExportError(
                        "\(patch.file) does not declare \(patch.keys.map(\.key).joined(separator: ", ")) after the edit, so nothing was written"
                    )
                }
            }
            return patches.map(\.file).reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        } catch {
            for (file, data) in originals { try? data.write(to: URL(fileURLWithPath: path(file)), options: .atomic) }
            throw error
        }
    }

    /// Replaces, inserts or removes top-level `key:` lines (with their continuation lines),
    /// leaving comments and everything else as written, in the file's own line endings.
    static func apply(_ keys: [(key: String, value: String?)], to text: String) -> String {
        let newline = text.contains("\r\n") ? "\r\n" : "\n"
        var lines = text.components(separatedBy: newline)
        if lines.last == "" { lines.removeLast() }
        func isTopLevel(_ line: String, _ key: String) -> Bool { line.hasPrefix("\(key):") }
        func isBlank(_ line: String) -> Bool { line.allSatisfy(\.isWhitespace) }
        /// The end of the value that starts at `index`: the indented (or blank, inside a block
        /// scalar) lines after it.
        func continuationEnd(after index: Int) -> Int {
            var end = index + 1
            while end < lines.count, lines[end].first == " " || lines[end].first == "\t" || isBlank(lines[end]) {
                if isBlank(lines[end]) {
                    // A blank line belongs to the value only if an indented line follows it.
                    var next = end + 1
                    while next < lines.count, isBlank(lines[next]) { next += 1 }
                    guard next < lines.count, lines[next].first == " " || lines[next].first == "\t" else { break }
                }
                end += 1
            }
            return end
        }
        var previousKey: String?
        for (key, value) in keys {
            if let index = lines.firstIndex(where: { isTopLevel($0, key) }) {
                let end = continuationEnd(after: index)
                if let value {
                    lines.replaceSubrange(index..<end, with: ["\(key): \(value)"])
                } else {
                    lines.removeSubrange(index..<end)
                }
            } else if let value {
                // After the key written just before (found again: earlier edits move lines), else next
                // to the status or the owner, where a reader looks for it.
                let anchor =
                    previousKey.flatMap { key in lines.firstIndex { isTopLevel($0, key) } }
                    ?? lines.firstIndex { isTopLevel($0, "status") } ?? lines.firstIndex { isTopLevel($0, "owner") }
                if let anchor {
                    lines.insert("\(key): \(value)", at: continuationEnd(after: anchor))
                } else {
                    lines.append("\(key): \(value)")
                }
            }
            if value != nil { previousKey = key }
        }
        return lines.joined(separator: newline) + newline
    }

    /// A YAML double-quoted scalar (JSON's string syntax is a subset of it).
    static func quoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }

    private static func entry(_ patch: FilePatch) -> CatalogOverlay.Entry {
        var entry = CatalogOverlay.Entry()
        let values = Dictionary(patch.keys.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        if let status = values["status"].flatMap({ $0 }).flatMap(ReportStatus.init(rawValue:)) {
            let reason = values["status_reason"].flatMap { $0 }.flatMap { quoted in
                try? JSONDecoder().decode(String.self, from: Data(quoted.utf8))
            }
            entry.status = CatalogOverlay.StatusChange(
                status: status, reason: reason, replacement: values["replaced_by"].flatMap { $0 })
        }
        if let owner = values["owner"].flatMap({ $0 }) { entry.owner = TeamID(owner) }
        if let certified = values["certified"].flatMap({ $0 }) { entry.certified = certified == "true" }
        return entry
    }

    private static func matches(_ wanted: CatalogOverlay.Entry, _ declared: CatalogOverlay.Entry) -> Bool {
        (wanted.status == nil || wanted.status == declared.status)
            && (wanted.owner == nil || wanted.owner == declared.owner)
            && (wanted.certified == nil || wanted.certified == declared.certified)
    }
}

/// `almanac lifecycle export --write` could not update the files (they were left as they were).
public struct LifecycleExportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

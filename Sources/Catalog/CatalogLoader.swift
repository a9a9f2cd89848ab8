public import AlmanacCore
public import Foundation
import Synchronization

/// The outcome of loading a catalog folder: the catalog if it is valid, and every
/// problem found either way.
public struct CatalogLoadResult: Sendable {
    /// `nil` when any error was found; warnings alone do not prevent loading.
    public var catalog: Catalog?
    /// Every problem, sorted by file and position.
    public var diagnostics: [Diagnostic]
    /// How many YAML files were read.
    public var fileCount: Int

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
}

/// Reads a catalog folder, checks every file and every reference, and builds a ``Catalog``.
///
/// Files are parsed in parallel (they are independent); references are checked once all
/// files are in. Problems are collected, never thrown, so one pass lists them all.
public enum CatalogLoader {
    /// The settings file at the top of a catalog folder.
    public static let settingsFile = "almanac.yaml"

    /// Loads and validates the catalog in `directory`.
    ///
    /// - Parameters:
    ///   - directory: the catalog folder; file names in diagnostics start with it as given.
    ///   - now: when the load happened, recorded on the catalog.
    public static func load(directory: String, now: Date = Date()) -> CatalogLoadResult {
        var diagnostics: [Diagnostic] = []
        let root = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            let diagnostic = Diagnostic(
                .error, at: SourceLocation(file: root), "catalog folder '\(root)' does not exist or is not a folder",
                hint: "pass the folder that holds almanac.yaml, e.g. 'almanac catalog check Catalog'")
            return CatalogLoadResult(catalog: nil, diagnostics: [diagnostic], fileCount: 0)
        }

        let (files, layoutProblems) = listFiles(root)
        diagnostics += layoutProblems

        // Settings first: reports and templates take their default grain and range from them.
        let settingsPath = join(root, settingsFile)
        var settings: CatalogSettings?
        var settingsDigest = ""
        if let data = FileManager.default.contents(atPath: settingsPath) {
            settingsDigest = Digest.fnv1a(data)
            let reader = YAMLReader(file: settingsPath)
            if let text = decodeText(data, reader: reader), let mapping = reader.root(yaml: text) {
                settings = Decoding.settings(mapping)
                mapping.reportUnknownKeys()
            }
            diagnostics += reader.diagnostics
        } else {
            diagnostics.append(
                Diagnostic(
                    .error, at: SourceLocation(file: settingsPath), "missing \(settingsFile)",
                    hint: "every catalog has an almanac.yaml with at least 'company: {name: …}'"))
        }

        let parsed = parseAll(files, settings: settings)
        var items = ParsedItems()
        for file in parsed {
            diagnostics += file.diagnostics
            if let item = file.item {
                items.add(item, origin: file.origin, digest: file.digest, diagnostics: &diagnostics)
            }
        }

        let catalogSettings = settings ?? CatalogSettings(companyName: "")
        // Paths relative to the folder: the same catalog checked out in two places (a portal
        // and a generator) has the same version.
        let version = Digest.fnv1a(
            Data(
                ([settingsDigest] + parsed.map { "\($0.origin.file.dropFirst(root.count))=\($0.digest)" }.sorted())
                    .joined(separator: "\n").utf8))
        let catalog = items.catalog(settings: catalogSettings, version: version, loadedAt: now)
        // Objects whose file had errors are left out of the catalog; references to them are not
        // reported again, so one mistake gives one message.
        let broken = Set(parsed.compactMap { $0.item == nil ? $0.declared : nil })
        diagnostics += CatalogValidator(catalog: catalog, broken: broken).validate()
        diagnostics.sort { ($0.location, $0.message) < ($1.location, $1.message) }
        let hasErrors = diagnostics.contains { $0.severity == .error }
        return CatalogLoadResult(
            catalog: hasErrors ? nil : catalog, diagnostics: diagnostics,
            fileCount: files.count + (settings == nil ? 0 : 1))
    }

    struct CatalogFile: Sendable {
        var path: String
        var kind: ItemKind
        var stem: String
    }

    /// Lists `root/<kind folder>/**/*.yaml` and reports anything out of place.
    static func listFiles(_ root: String) -> ([CatalogFile], [Diagnostic]) {
        var files: [CatalogFile] = []
        var problems: [Diagnostic] = []
        let manager = FileManager.default
        let entries = ((try? manager.contentsOfDirectory(atPath: root)) ?? []).sorted()
        let folders = ItemKind.allCases.map(\.folder)
        for entry in entries where !entry.hasPrefix(".") {
            let path = join(root, entry)
            var isDirectory: ObjCBool = false
            _ = manager.fileExists(atPath: path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                guard let kind = ItemKind(folder: entry) else {
                    problems.append(
                        Diagnostic(
                            .error, at: SourceLocation(file: path), "unknown catalog folder '\(entry)'",
                            hint: closestMatch(to: entry, in: folders).map { "did you mean '\($0)'?" }
                                ?? "catalog folders are \(folders.joined(separator: ", "))"))
                    continue
                }
                let enumerator = manager.enumerator(atPath: path)
                var relatives: [String] = []
                while let relative = enumerator?.nextObject() as? String {
                    let name = (relative as NSString).lastPathComponent
                    if name.hasPrefix(".") {
                        enumerator?.skipDescendants()
                        continue
                    }
                    if name.hasSuffix(".yaml") || name.hasSuffix(".yml") { relatives.append(relative) }
                }
                for relative in relatives.sorted() {
                    let name = (relative as NSString).lastPathComponent
                    let stem = (name as NSString).deletingPathExtension
                    files.append(CatalogFile(path: join(path, relative), kind: kind, stem: stem))
                }
            } else if (entry.hasSuffix(".yaml") || entry.hasSuffix(".yml")) && entry != settingsFile {
                problems.append(
                    Diagnostic(
                        .error, at: SourceLocation(file: path),
                        "'\(entry)' is not in a kind folder, so Almanac does not know what it is",
                        hint: "move it into one of \(folders.map { $0 + "/" }.joined(separator: ", "))"))
            }
        }
        return (files, problems)
    }

    struct ParsedFile: Sendable {
        var origin: ItemOrigin
        var digest: String
        var item: ParsedItem?
        var diagnostics: [Diagnostic]
        /// The object's key when its id was readable, even if the rest was not.
        var declared: ItemKey?
    }

    static func parseAll(_ files: [CatalogFile], settings: CatalogSettings?) -> [ParsedFile] {
        let results = Mutex([ParsedFile?](repeating: nil, count: files.count))
        // Parsing dominates load time and files are independent: spread them over the cores.
        // Files are handed out one at a time, so a core slowed by other work does not hold
        // back the whole load.
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            let file = parse(files[index], settings: settings)
            results.withLock { $0[index] = file }
        }
        return results.withLock { $0.compactMap { $0 } }
    }

    static func parse(_ file: CatalogFile, settings: CatalogSettings?) -> ParsedFile {
        let reader = YAMLReader(file: file.path)
        guard let data = FileManager.default.contents(atPath: file.path) else {
            reader.error("cannot read file", at: SourceLocation(file: file.path))
            return ParsedFile(
                origin: ItemOrigin(file: file.path), digest: "", item: nil, diagnostics: reader.diagnostics)
        }
        let digest = Digest.fnv1a(data)
        var item: ParsedItem?
        if let text = decodeText(data, reader: reader), let m = reader.root(yaml: text) {
            let id = file.stem
            switch file.kind {
            case .team: item = Decoding.team(m, id: id).map(ParsedItem.team)
            case .source: item = Decoding.source(m, id: id).map(ParsedItem.source)
            case .metric: item = Decoding.metric(m, id: id).map(ParsedItem.metric)
            case .report: item = Decoding.report(m, id: id, settings: settings).map(ParsedItem.report)
            case .template: item = Decoding.template(m, id: id, settings: settings).map(ParsedItem.template)
            case .entity: item = Decoding.entity(m, id: id).map(ParsedItem.entity)
            case .annotation: item = Decoding.annotation(m, id: id).map(ParsedItem.annotation)
            case .subscription: item = Decoding.subscription(m, id: id).map(ParsedItem.subscription)
            case .trigger: item = Decoding.trigger(m, id: id).map(ParsedItem.trigger)
            case .backend: item = Decoding.backend(m, id: id).map(ParsedItem.backend)
            }
            m.reportUnknownKeys()
        }
        return ParsedFile(
            origin: ItemOrigin(file: file.path, locations: reader.locations), digest: digest, item: item,
            diagnostics: reader.diagnostics, declared: ItemKey(file.kind, file.stem))
    }

    static func decodeText(_ data: Data, reader: YAMLReader) -> String? {
        guard data.count <= TextLimits.fileBytes else {
            reader.error(
                "file is \(data.count) bytes; catalog files may be at most \(TextLimits.fileBytes) bytes",
                at: SourceLocation(file: reader.file))
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            let (offset, line, column) = firstInvalidUTF8(data)
            reader.error(
                "file is not valid UTF-8: byte 0x\(String(format: "%02X", data[data.startIndex + offset])) cannot start or continue a character",
                at: SourceLocation(file: reader.file, line: line, column: column),
                hint: "save the file as UTF-8")
            return nil
        }
        // YAML allows no control characters but tab, line feed and carriage return.
        var line = 1
        var column = 1
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                line += 1
                column = 1
                continue
            }
            let value = scalar.value
            if (value < 0x20 && value != 0x09 && value != 0x0D) || value == 0x7F || (0x80...0x9F).contains(value) {
                reader.error(
                    "control character U+\(String(format: "%04X", value)) is not allowed in a catalog file",
                    at: SourceLocation(file: reader.file, line: line, column: column),
                    hint: "remove it, or write it as an escape inside a double-quoted string")
                return nil
            }
            column += 1
        }
        if text.contains("\t") {
            // NB: libyaml's message for tabs is cryptic; name the line instead.
            let line = text.split(separator: "\n", omittingEmptySubsequences: false)
                .firstIndex { $0.prefix { $0 == " " || $0 == "\t" }.contains("\t") }
            if let line {
                reader.error(
                    "tab used for indentation", at: SourceLocation(file: reader.file, line: line + 1, column: 1),
                    hint: "YAML indents with spaces only")
                return nil
            }
        }
        return text
    }

    /// Where the first byte that is not valid UTF-8 is: its offset, and its line and column
    /// (columns count characters before it on its line, from 1).
    static func firstInvalidUTF8(_ data: Data) -> (offset: Int, line: Int, column: Int) {
        let bytes = [UInt8](data)
        var index = 0
        var line = 1
        var column = 1
        while index < bytes.count {
            let byte = bytes[index]
            let length: Int
            switch byte {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return (index, line, column)
            }
            guard index + length <= bytes.count,
                bytes[(index + 1)..<(index + length)].allSatisfy({ $0 & 0xC0 == 0x80 }),
                String(bytes: bytes[index..<(index + length)], encoding: .utf8) != nil
            else { return (index, line, column) }
            if byte == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
            index += length
        }
        return (bytes.count, line, column)
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory == "." ? name : directory + "/" + name
    }
}

enum ParsedItem: Sendable {
    case team(Team), source(Source), metric(Metric), report(Report), template(Template), entity(Entity)
    case annotation(Annotation), subscription(Subscription), trigger(Trigger), backend(Backend)

    var key: ItemKey {
        switch self {
        case .team(let x): ItemKey(.team, x.id.rawValue)
        case .source(let x): ItemKey(.source, x.id.rawValue)
        case .metric(let x): ItemKey(.metric, x.id.rawValue)
        case .report(let x): ItemKey(.report, x.id.rawValue)
        case .template(let x): ItemKey(.template, x.id.rawValue)
        case .entity(let x): ItemKey(.entity, x.id.rawValue)
        case .annotation(let x): ItemKey(.annotation, x.id.rawValue)
        case .subscription(let x): ItemKey(.subscription, x.id.rawValue)
        case .trigger(let x): ItemKey(.trigger, x.id.rawValue)
        case .backend(let x): ItemKey(.backend, x.id.rawValue)
        }
    }
}

/// Collects parsed objects by kind, refusing a second object with the same id.
struct ParsedItems {
    var teams: [Team] = [], sources: [Source] = [], metrics: [Metric] = [], reports: [Report] = []
    var templates: [Template] = [], entities: [Entity] = [], annotations: [Annotation] = []
    var subscriptions: [Subscription] = [], triggers: [Trigger] = [], backends: [Backend] = []
    var origins: [ItemKey: ItemOrigin] = [:]
    var digests: [ItemKey: String] = [:]

    mutating func add(_ item: ParsedItem, origin: ItemOrigin, digest: String, diagnostics: inout [Diagnostic]) {
        let key = item.key
        if let first = origins[key] {
            diagnostics.append(
                Diagnostic(
                    .error, at: origin.location("id"), "duplicate \(key.kind.rawValue) id '\(key.id)'",
                    hint: "also defined in \(first.file); ids are unique within a kind"))
            return
        }
        origins[key] = origin
        digests[key] = digest
        switch item {
        case .team(let x): teams.append(x)
        case .source(let x): sources.append(x)
        case .metric(let x): metrics.append(x)
        case .report(let x): reports.append(x)
        case .template(let x): templates.append(x)
        case .entity(let x): entities.append(x)
        case .annotation(let x): annotations.append(x)
        case .subscription(let x): subscriptions.append(x)
        case .trigger(let x): triggers.append(x)
        case .backend(let x): backends.append(x)
        }
    }

    func catalog(settings: CatalogSettings, version: String, loadedAt: Date) -> Catalog {
        Catalog(
            settings: settings, teams: teams, sources: sources, metrics: metrics, reports: reports,
            templates: templates, entities: entities, annotations: annotations, subscriptions: subscriptions,
            triggers: triggers, backends: backends, origins: origins, version: version, itemDigests: digests,
            loadedAt: loadedAt)
    }
}

/// A fast, stable 64-bit FNV-1a digest of file bytes, for change detection (not security).
public enum Digest {
    /// 16 lower-case hex digits.
    public static func fnv1a(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let text = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}

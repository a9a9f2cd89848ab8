public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One generated version of a report: a folder of files and when it was made.
public struct ArtifactVersion: Sendable, Hashable, Codable {
    /// `20261127T043000Z-1a2b`: sorts by time, unique per write.
    public var name: String
    public var generatedAt: Date
    /// File names in the version, as listed in its manifest.
    public var files: [String]
}

/// Rendered reports on disk, written atomically.
///
/// A version is written into a hidden temporary folder, every file and the folder are
/// fsynced, and the folder is renamed into place; only then is the report's `LATEST`
/// pointer replaced (write, fsync, rename). A reader therefore sees the previous version
/// or the new one, never a half-written one, even if the writer is killed midway.
/// Temporary folders left by a killed writer are removed by the next write.
public struct ArtifactStore: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    struct Manifest: Codable {
        var name: String
        var generatedAt: Date
        var files: [String]
    }

    func folder(_ kind: String, _ id: String) -> String { "\(root)/\(kind)/\(id)" }

    /// Writes `files` (name → bytes) as a new version of `kind/id`, points `LATEST` at it, and
    /// keeps the newest `keep` versions.
    @discardableResult
    public func write(
        kind: String = "reports", id: String, files: [String: Data], generatedAt: Date, keep: Int
    )
        throws -> ArtifactVersion
    {
        let base = folder(kind, id)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        removeAbandonedTemporaries(in: base)
        let name = Self.versionName(generatedAt)
        let temporary = "\(base)/.tmp-\(name)"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        do {
            for (file, data) in files {
                guard Self.isSafeFileName(file) else { throw ArtifactError("unsafe artifact file name '\(file)'") }
                try Self.writeSynced(data, to: "\(temporary)/\(file)")
            }
            let manifest = Manifest(name: name, generatedAt: generatedAt, files: files.keys.sorted())
            try Self.writeSynced(try JSONEncoder.artifacts.encode(manifest), to: "\(temporary)/manifest.json")
            Self.syncDirectory(temporary)
            try Self.rename(temporary, to: "\(base)/\(name)")
            Self.syncDirectory(base)
            try Self.writeSynced(Data(name.utf8), to: "\(base)/.LATEST.tmp")
            try Self.rename("\(base)/.LATEST.tmp", to: "\(base)/LATEST")
            Self.syncDirectory(base)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        prune(base, keep: max(1, keep), current: name)
        return ArtifactVersion(name: name, generatedAt: generatedAt, files: files.keys.sorted())
    }

    /// The name of the version `LATEST` points at, read without opening its manifest: cheap
    /// enough for every request, so servers can cache by it.
    public func latestName(kind: String = "reports", id: String) -> String? {
        // One open and read of a short file, without Foundation's file machinery: pages ask on
        // every request. A pointer longer than a name may be is not one.
        let descriptor = open("\(folder(kind, id))/LATEST", O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        let name = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buffer -> String? in
            var count = 0
            while count < buffer.count {
                let read = Glibc.read(descriptor, buffer.baseAddress! + count, buffer.count - count)
                if read < 0 && errno == EINTR { continue }
                guard read >= 0 else { return nil }
                if read == 0 { break }
                count += read
            }
            guard count < buffer.count else { return nil }
            return String(validating: UnsafeBufferPointer(rebasing: buffer[..<count]), as: UTF8.self)
        }
        guard let name, Self.isSafeFileName(name) else { return nil }
        return name
    }

    /// The version `LATEST` points at, if any.
    public func latest(kind: String = "reports", id: String) -> ArtifactVersion? {
        let base = folder(kind, id)
        guard let data = FileManager.default.contents(atPath: "\(base)/LATEST"),
            let name = String(data: data, encoding: .utf8), Self.isSafeFileName(name),
            let manifestData = FileManager.default.contents(atPath: "\(base)/\(name)/manifest.json"),
            let manifest = try? JSONDecoder.artifacts.decode(Manifest.self, from: manifestData)
        else { return nil }
        return ArtifactVersion(name: manifest.name, generatedAt: manifest.generatedAt, files: manifest.files)
    }

    /// Every complete version, newest first.
    public func versions(kind: String = "reports", id: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder(kind, id))) ?? []
        return entries.filter { !$0.hasPrefix(".") && $0 != "LATEST" }.sorted(by: >)
    }

    /// A file of a version.
    public func read(kind: String = "reports", id: String, version: String, file: String) -> Data? {
        guard Self.isSafeFileName(version), Self.isSafeFileName(file) else { return nil }
        return FileManager.default.contents(atPath: "\(folder(kind, id))/\(version)/\(file)")
    }

    private func prune(_ base: String, keep: Int, current: String) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        let versions = entries.filter { !$0.hasPrefix(".") && $0 != "LATEST" }.sorted(by: >)
        for old in versions.dropFirst(keep) where old != current {
            try? FileManager.default.removeItem(atPath: "\(base)/\(old)")
        }
    }

    private func removeAbandonedTemporaries(in base: String) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        for entry in entries where entry.hasPrefix(".tmp-") {
            try? FileManager.default.removeItem(atPath: "\(base)/\(entry)")
        }
    }

    static func versionName(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let stamp = String(
            format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
        return "\(stamp)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    static func isSafeFileName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix(".") else { return false }
        // Names are ASCII as Almanac writes them; checked by their bytes on every page request
        // (`latestName`), with Unicode's letter and number properties only for other names.
        if name.utf8.count <= 128, name.utf8.allSatisfy({ $0 < 0x80 }) {
            return name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                    true
                default: false
                }
            }
        }
        return name.count <= 128 && name.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) }
    }

    static func writeSynced(_ data: Data, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw ArtifactError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                guard written > 0 else {
                    throw ArtifactError("cannot write \(path): \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
        guard fsync(descriptor) == 0 else {
            throw ArtifactError("cannot fsync \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw ArtifactError("cannot rename \(from) to \(to): \(String(cString: strerror(errno)))")
        }
    }
}

public struct ArtifactError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension JSONEncoder {
    static let artifacts: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
}

extension JSONDecoder {
    static let artifacts: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

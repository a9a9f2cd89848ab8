import Foundation

/// Golden files: compares `text` with `directory/name`, or writes it when
/// `ALMANAC_RECORD_SNAPSHOTS=1` is set (then review the diff before committing).
///
/// - Returns: `nil` when they match, or a message describing the difference.
public func snapshotMismatch(_ text: String, named name: String, in directory: String) -> String? {
    let path = (directory as NSString).appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["ALMANAC_RECORD_SNAPSHOTS"] == "1" {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
        return nil
    }
    guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
        return "no snapshot at \(path); record it with ALMANAC_RECORD_SNAPSHOTS=1"
    }
    if expected == text { return nil }
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let old = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let first =
        zip(lines, old).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(lines.count, old.count)
    return """
        \(name) differs from its snapshot at line \(first + 1):
          expected: \(first < old.count ? String(old[first]) : "<end>")
          actual:   \(first < lines.count ? String(lines[first]) : "<end>")
        (re-record with ALMANAC_RECORD_SNAPSHOTS=1 if the change is intended)
        """
}

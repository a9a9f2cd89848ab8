/// A position in a catalog file, 1-based, as editors and `file:line:column` tools expect.
public struct SourceLocation: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    /// The file path as given to the loader (relative to the working directory when possible).
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int = 1, column: Int = 1) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// One problem found in user input, with where it is and what to do about it.
///
/// Diagnostics are collected rather than thrown, so that `almanac catalog check` can list
/// every problem in one pass instead of making the author fix them one at a time.
public struct Diagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Severity: String, Hashable, Sendable, Codable {
        case error
        case warning
    }

    public var severity: Severity
    public var location: SourceLocation
    /// What is wrong, naming the object and the value.
    public var message: String
    /// What to do about it, when there is something useful to say.
    public var hint: String?

    public init(_ severity: Severity = .error, at location: SourceLocation, _ message: String, hint: String? = nil) {
        self.severity = severity
        self.location = location
        self.message = message
        self.hint = hint
    }

    /// `file:line:column: error: message` followed by an indented hint line, like a compiler.
    public var description: String {
        var text = "\(location): \(severity.rawValue): \(message)"
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }
}

/// An error whose message is meant for people, with an optional hint about what to do.
public protocol AlmanacError: Error, CustomStringConvertible {
    /// A sentence for the user: what happened.
    var userMessage: String { get }
    /// What to do about it, if there is something to say.
    var hint: String? { get }
}

extension AlmanacError {
    public var hint: String? { nil }
    public var description: String {
        if let hint { return "\(userMessage)\n  hint: \(hint)" }
        return userMessage
    }
}

/// Suggests the closest of `candidates` to a misspelt `word`, for "did you mean" hints.
///
/// Uses the Damerau–Levenshtein (optimal string alignment) distance and accepts a
/// suggestion only when it is within a third of the word's length, so that unrelated
/// words are not offered.
public func closestMatch(to word: String, in candidates: some Sequence<String>) -> String? {
    let target = Array(word.lowercased())
    var best: (candidate: String, distance: Int)?
    for candidate in candidates {
        let distance = editDistance(target, Array(candidate.lowercased()))
        if distance < (best?.distance ?? .max) { best = (candidate, distance) }
    }
    guard let best else { return nil }
    let limit = max(1, (max(target.count, best.candidate.count) + 2) / 3)
    return best.distance <= limit ? best.candidate : nil
}

func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previousPrevious = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                current[j] = min(current[j], previousPrevious[j - 2] + 1)
            }
        }
        (previousPrevious, previous, current) = (previous, current, previousPrevious)
    }
    return previous[b.count]
}

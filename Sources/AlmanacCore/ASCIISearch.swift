extension String {
    /// Whether `needle` occurs in this string with ASCII letters compared without case (other
    /// bytes as they are), by a pass over the UTF-8 bytes: no lowercased copy, and not
    /// Foundation's `contains`, which goes through `NSString` on Linux. For the checks asked on
    /// every request (user agents, typed search filters).
    public func containsIgnoringASCIICase(_ needle: String) -> Bool {
        var haystack = self
        var needle = needle
        return haystack.withUTF8 { text in
            needle.withUTF8 { pattern in
                guard !pattern.isEmpty else { return true }
                guard text.count >= pattern.count else { return false }
                let first = Self.asciiLowered(pattern[0])
                for start in 0...(text.count - pattern.count) where Self.asciiLowered(text[start]) == first {
                    var matched = 1
                    while matched < pattern.count,
                        Self.asciiLowered(text[start + matched]) == Self.asciiLowered(pattern[matched])
                    {
                        matched += 1
                    }
                    if matched == pattern.count { return true }
                }
                return false
            }
        }
    }

    private static func asciiLowered(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}

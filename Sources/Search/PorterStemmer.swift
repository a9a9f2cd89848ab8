/// The Porter (1980) suffix-stripping stemmer, on lower-case ASCII words.
///
/// Search stems both the indexed text and the query, so "signups", "signed" and
/// "signing" meet at "sign". Words with other characters (São, Zürich after folding
/// keeps ASCII, but 東京 does not) are returned unchanged.
enum PorterStemmer {
    static func stem(_ word: String) -> String {
        var bytes = Array(word.utf8)
        // Long "words" (ids, hashes, runs of one letter) are not English; leave them be.
        guard bytes.count > 2, bytes.count <= 40, bytes.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) else { return word }
        var stemmer = Run(b: bytes)
        stemmer.run()
        bytes = Array(stemmer.b[0...stemmer.k])
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The classic algorithm over a byte buffer: `k` is the end of the word, `j` the end of
    /// the stem being tested.
    private struct Run {
        var b: [UInt8]
        var k: Int
        var j = 0

        init(b: [UInt8]) {
            self.b = b
            k = b.count - 1
        }

        func isConsonant(_ i: Int) -> Bool {
            switch b[i] {
            case 0x61, 0x65, 0x69, 0x6F, 0x75: return false  // a e i o u
            case 0x79:
                // y is a consonant at the start or after a vowel: walk back over a run of y's.
                var start = i
                while start > 0 && b[start - 1] == 0x79 { start -= 1 }
                let firstIsConsonant = start == 0 || !isConsonant(start - 1)
                return (i - start) % 2 == 0 ? firstIsConsonant : !firstIsConsonant
            default: return true
            }
        }

        /// The number of vowel-consonant sequences in b[0...j].
        func measure() -> Int {
            var n = 0
            var i = 0
            while true {
                if i > j { return n }
                if !isConsonant(i) { break }
                i += 1
            }
            i += 1
            while true {
                while true {
                    if i > j { return n }
                    if isConsonant(i) { break }
                    i += 1
                }
                i += 1
                n += 1
                while true {
                    if i > j { return n }
                    if !isConsonant(i) { break }
                    i += 1
                }
                i += 1
            }
        }

        func vowelInStem() -> Bool { (0...max(0, j)).contains { j >= 0 && !isConsonant($0) } }

        func doubleConsonant(_ i: Int) -> Bool {
            i >= 1 && b[i] == b[i - 1] && isConsonant(i)
        }

        /// consonant-vowel-consonant ending at i, where the last is not w, x or y.
        func cvc(_ i: Int) -> Bool {
            if i < 2 || !isConsonant(i) || isConsonant(i - 1) || !isConsonant(i - 2) { return false }
            let c = b[i]
            return c != 0x77 && c != 0x78 && c != 0x79
        }

        mutating func ends(_ suffix: String) -> Bool {
            let s = Array(suffix.utf8)
            let length = s.count
            if length > k + 1 { return false }
            if b[(k - length + 1)...k].elementsEqual(s) {
                j = k - length
                return true
            }
            return false
        }

        mutating func setTo(_ replacement: String) {
            let r = Array(replacement.utf8)
            b.replaceSubrange((j + 1)..<(k + 1), with: r)
            k = j + r.count
        }

        mutating func replace(_ replacement: String) { if measure() > 0 { setTo(replacement) } }

        mutating func step1ab() {
            if b[k] == 0x73 {  // s
                if ends("sses") {
                    k -= 2
                } else if ends("ies") {
                    setTo("i")
                } else if k >= 1 && b[k - 1] != 0x73 {
                    k -= 1
                }
            }
            if ends("eed") {
                if measure() > 0 { k -= 1 }
            } else if (ends("ed") || ends("ing")) && vowelInStem() {
                k = j
                if ends("at") {
                    setTo("ate")
                } else if ends("bl") {
                    setTo("ble")
                } else if ends("iz") {
                    setTo("ize")
                } else if doubleConsonant(k) {
                    k -= 1
                    let c = b[k]
                    if c == 0x6C || c == 0x73 || c == 0x7A { k += 1 }  // l s z stay double
                } else if measure() == 1 && cvc(k) {
                    setTo("e")
                }
            }
        }

        mutating func step1c() {
            if ends("y") && vowelInStem() { b[k] = 0x69 }
        }

        mutating func step2() {
            guard k >= 1 else { return }
            let rules: [(String, String)]
            switch b[k - 1] {
            case 0x61: rules = [("ational", "ate"), ("tional", "tion")]
            case 0x63: rules = [("enci", "ence"), ("anci", "ance")]
            case 0x65: rules = [("izer", "ize")]
            case 0x6C: rules = [("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous")]
            case 0x6F: rules = [("ization", "ize"), ("ation", "ate"), ("ator", "ate")]
            case 0x73: rules = [("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous")]
            case 0x74: rules = [("aliti", "al"), ("iviti", "ive"), ("biliti", "ble")]
            case 0x67: rules = [("logi", "log")]
            default: return
            }
            for (suffix, replacement) in rules where ends(suffix) {
                replace(replacement)
                return
            }
        }

        mutating func step3() {
            let rules: [(String, String)]
            switch b[k] {
            case 0x65: rules = [("icate", "ic"), ("ative", ""), ("alize", "al")]
            case 0x69: rules = [("iciti", "ic")]
            case 0x6C: rules = [("ical", "ic"), ("ful", "")]
            case 0x73: rules = [("ness", "")]
            default: return
            }
            for (suffix, replacement) in rules where ends(suffix) {
                replace(replacement)
                return
            }
        }

        mutating func step4() {
            guard k >= 1 else { return }
            let suffixes: [String]
            switch b[k - 1] {
            case 0x61: suffixes = ["al"]
            case 0x63: suffixes = ["ance", "ence"]
            case 0x65: suffixes = ["er"]
            case 0x69: suffixes = ["ic"]
            case 0x6C: suffixes = ["able", "ible"]
            case 0x6E: suffixes = ["ant", "ement", "ment", "ent"]
            case 0x6F: suffixes = ["ion", "ou"]
            case 0x73: suffixes = ["ism"]
            case 0x74: suffixes = ["ate", "iti"]
            case 0x75: suffixes = ["ous"]
            case 0x76: suffixes = ["ive"]
            case 0x7A: suffixes = ["ize"]
            default: return
            }
            for suffix in suffixes where ends(suffix) {
                if suffix == "ion" {
                    guard j >= 0, b[j] == 0x73 || b[j] == 0x74 else { return }
                }
                if measure() > 1 { k = j }
                return
            }
        }

        mutating func step5() {
            j = k
            if b[k] == 0x65 {  // e
                let m = measure()
                if m > 1 || (m == 1 && !cvc(k - 1)) { k -= 1 }
            }
            if b[k] == 0x6C && doubleConsonant(k) && measure() > 1 { k -= 1 }
        }

        mutating func run() {
            step1ab()
            if k > 0 {
                step1c()
                step2()
                step3()
                step4()
                step5()
            }
        }
    }
}

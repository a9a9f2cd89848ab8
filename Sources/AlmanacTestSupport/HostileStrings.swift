/// Random and hostile search strings, the same on every run: FTS operators, unbalanced
/// quotes and parentheses, SQL, HTML, control characters, combining marks, right-to-left
/// text, CJK, emoji and very long input.
public struct HostileStrings {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// Hand-picked strings that break naive search boxes.
    public static let fixed = [
        "\"", "\"churn", "churn\"", "(mrr", "mrr)", "((( churn )))", "*", "**", "signup*", "*signup", "-churn",
        "churn -mrr", "AND", "OR", "NOT", "NOT churn", "churn AND", "NEAR(a b)", "churn NEAR/3 mrr", "title:churn",
        ":", "::", "kind:", "kind:\"", "owner:\"", "status:", "status:\u{0}", "tag:\"\"", "^", "mrr^2", "mrr~2",
        "[a TO b]", "{churn}", "churn\\", "\\", "'", "' OR 1=1 --", "'; DROP TABLE entries; --", "C++", "p&l",
        "50% churn", "#churn", "@churn", "$", "ARPU (€)", "A/B test", "k-factor", "sign-up", "Zu\u{308}rich", "東京",
        "📈 revenue", "👩‍👩‍👧‍👦", "naïve", "İstanbul", "ŁÓDŹ", "\u{202E}evil", "\u{0}", "\u{7}\u{8}\u{1B}[31m",
        "\u{FEFF}", "\u{200B}churn", "<script>alert(1)</script>", "&amp;", "%00", "%s%s%s", "{{page.query}}",
        "\u{D7FF}\u{E000}", "\u{10FFFF}", "ﷺ", "Ω≈ç√∫", String(repeating: "a", count: 10_000),
        String(repeating: "churn ", count: 2_000), String(repeating: "\"", count: 500),
        String(repeating: "(", count: 999),
        String(repeating: "é", count: 3_000), "", " ", "\t\n\r",
    ]

    private mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }

    private mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }

    private mutating func scalar() -> Unicode.Scalar {
        let ranges: [ClosedRange<UInt32>] = [
            0x00...0x7F, 0x20...0x7E, 0x20...0x7E, 0x61...0x7A, 0x61...0x7A, 0x80...0x24F, 0x300...0x36F,
            0x590...0x6FF, 0x3040...0x30FF, 0x4E00...0x4FFF, 0x1F300...0x1FAFF, 0xFE00...0xFE0F, 0x2000...0x206F,
        ]
        let range = pick(ranges)
        while true {
            let value = range.lowerBound + UInt32(next() % UInt64(range.count))
            if let scalar = Unicode.Scalar(value) { return scalar }
        }
    }

    /// The next random string: catalog words, filter keys, operators and random scalars.
    public mutating func string() -> String {
        let words = [
            "churn", "mrr", "signups", "revenue", "kind:", "team:", "owner:", "status:", "tag:", "\"", "AND",
            "NOT", "(", ")", "*", ":", "globex", "retension", "customer", "-", "^", "~", "\\",
        ]
        var text = ""
        let parts = Int(next() % 12)
        for _ in 0..<parts {
            switch next() % 4 {
            case 0: text += pick(words)
            case 1: text += pick(HostileStrings.fixed).prefix(50)
            default:
                var view = String.UnicodeScalarView()
                for _ in 0..<Int(next() % 8) { view.append(scalar()) }
                text += String(view)
            }
            if next() % 3 != 0 { text += " " }
        }
        return text
    }
}

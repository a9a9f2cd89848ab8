/// Words that say what kind of thing is wanted, or how the question is put, rather than what
/// it is about: "hooli **ocean** dashboard", "**how many** people use the mobile **app**".
///
/// They are hints, not required words: a result need not contain them, one that does ranks a
/// little higher, and a kind word lifts results of that kind. A query made only of hints
/// ("dashboards") searches for them as words.
enum QueryHints {
    /// Folded words (as typed, before stemming) and the document kinds they ask for.
    static let kinds: [String: [String]] = {
        var table: [String: [String]] = [:]
        func add(_ words: [String], _ kinds: [String]) {
            for word in words { table[word] = kinds }
        }
        add(
            ["dashboard", "dashboards", "report", "reports", "chart", "charts", "graph", "graphs"],
            ["report", "template"])
        add(["metric", "metrics", "definition", "definitions", "kpi", "kpis"], ["metric"])
        add(["team", "teams", "owner", "owners", "squad"], ["team", "person"])
        add(["app", "apps", "application", "applications"], ["app"])
        add(["customer", "customers", "client", "clients"], ["customer"])
        add(["campaign", "campaigns"], ["campaign"])
        add(["experiment", "experiments", "test", "tests"], ["experiment"])
        add(["city", "cities"], ["city"])
        add(["template", "templates"], ["template"])
        return table
    }()

    /// How a question is put (the analyzer's stop words are dropped before this).
    static let questionWords: Set<String> = [
        "how", "many", "much", "what", "whats", "which", "who", "where", "when", "why", "is", "are", "was",
        "were", "do", "does", "did", "can", "i", "me", "my", "our", "we", "show", "find", "list", "get", "give",
        "please", "there", "this", "that", "about", "use", "uses", "used", "using", "see",
    ]

    static func isHint(_ word: String) -> Bool { kinds[word] != nil || questionWords.contains(word) }
}

import Testing

@testable import Search

@Suite(.timeLimit(.minutes(10))) struct AnalyzerTests {
    @Test func foldsCaseDiacriticsAndCompatibilityForms() {
        #expect(Analyzer.words("Zürich") == ["zurich"])
        #expect(Analyzer.words("Zu\u{308}rich") == ["zurich"])
        #expect(Analyzer.words("São Paulo") == ["sao", "paulo"])
        #expect(Analyzer.words("ＡＢＣ ｆｕｌｌｗｉｄｔｈ") == ["abc", "fullwidth"])
        #expect(Analyzer.words("İstanbul").first?.hasSuffix("stanbul") == true)
        #expect(Analyzer.words("東京 📈 sales") == ["東京", "sales"])
    }

    @Test func everythingButLettersAndDigitsSeparatesWords() {
        #expect(Analyzer.words("weekly_active_users") == ["weekly", "active", "users"])
        #expect(
            Analyzer.words("\"churn\" AND (mrr*) NEAR/3 title:x") == ["churn", "and", "mrr", "near", "3", "title", "x"])
        #expect(Analyzer.words("'; DROP TABLE entries; --") == ["drop", "table", "entries"])
        #expect(Analyzer.words("") == [])
        #expect(Analyzer.words("*** ((( ^^^") == [])
    }

    /// The highlighter's word ranges: the byte pass (which decodes only runs beyond ASCII) finds
    /// the same words at the same places as decoding the whole text.
    @Test func wordRangesOfMixedTextMatchTheScalarWalk() {
        var texts = [
            "Benelux—Nordics", "Zu\u{308}rich", "½ cup", "José C. Okafor", "東京 📈 sales", "İstanbul",
            " \u{308}abc", "Finance BI — Subscriptions", "weekly_active_users", "", "—", "a", "ﬁle straße",
            "Tracks campaign attribution for all customers in Benelux. Pairs churn and NPS.",
        ]
        let alphabet: [String] = [
            "a", "Z", "q", "7", " ", ".", "-", "_", "é", "—", "½", "\u{308}", "東", "📈", "ß", "ﬁ", "İ", "’", "\n",
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<3_000 {
            var text = ""
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            for _ in 0..<Int(state >> 59) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text += alphabet[Int(state >> 33) % alphabet.count]
            }
            texts.append(text)
        }
        for text in texts {
            func offsets(_ ranges: [(range: Range<String.Index>, word: String)]) -> [String] {
                ranges.map { range, word in
                    let start = text.utf8.distance(from: text.startIndex, to: range.lowerBound)
                    return "\(start)+\(text.utf8[range].count):\(word)"
                }
            }
            #expect(
                offsets(Analyzer.wordRanges(text)) == offsets(Analyzer.scalarWordRanges(text)),
                "\(text.debugDescription)")
        }
    }

    @Test func porterStemsTheTextbookExamples() {
        let cases = [
            ("caresses", "caress"), ("ponies", "poni"), ("cats", "cat"), ("feed", "feed"), ("agreed", "agre"),
            ("plastered", "plaster"), ("motoring", "motor"), ("hopping", "hop"), ("falling", "fall"),
            ("relational", "relat"), ("conditional", "condit"), ("generalization", "gener"), ("electrical", "electr"),
            ("adjustment", "adjust"), ("signups", "signup"), ("retention", "retent"), ("revenue", "revenu"),
        ]
        for (word, stem) in cases { #expect(Analyzer.term(word) == stem, "\(word)") }
        #expect(Analyzer.term("東京") == "東京")
    }
}

@Suite(.timeLimit(.minutes(10))) struct QueryParsingTests {
    @Test func wordsPhrasesAndFilters() {
        let query = SearchQuery(parsing: #"kind:metric team:Growth "weekly active" users tag:engagement"#)
        #expect(query.kinds.contains("metric"))
        #expect(query.teams == ["growth"])
        #expect(query.tags == ["engagement"])
        #expect(query.phrases == [["weekly", "active"]])
        #expect(query.words == ["weekly", "active", "users"])
        #expect(query.lastWordIsPrefix == false, "the last word is followed by a filter")
    }

    @Test func theLastWordIsAPrefixWhileBeingTyped() {
        #expect(SearchQuery(parsing: "customer hea").lastWordIsPrefix)
        #expect(!SearchQuery(parsing: "customer hea ").lastWordIsPrefix)
        #expect(!SearchQuery(parsing: "\"customer hea\"").lastWordIsPrefix)
        #expect(!SearchQuery(parsing: "h").lastWordIsPrefix, "one letter is too little to expand")
        #expect(!SearchQuery(parsing: "revenue by").lastWordIsPrefix, "a dropped stop word ends the typing")
        #expect(!SearchQuery(parsing: "a b c d e f g h i j").lastWordIsPrefix, "the last word was cut off")
    }

    @Test func stopWordsGoUnlessTheyAreAllThereIs() {
        #expect(SearchQuery(parsing: "mrr by region").words == ["mrr", "region"])
        #expect(SearchQuery(parsing: "AND OR NOT").words == ["and", "or", "not"])
    }

    @Test func statusAndOwnerAndQuotedFilterValues() {
        let query = SearchQuery(parsing: #"status:retired owner:"Olivia Grant" launch"#)
        #expect(query.statuses == [.retired])
        #expect(query.owners == ["olivia", "grant"])
        #expect(query.words == ["launch"])
        let unknown = SearchQuery(parsing: "status:gone churn")
        #expect(unknown.statuses.isEmpty)
        #expect(unknown.unknownFilters == ["status:gone"])
    }

    @Test func hostileInputIsPlainText() {
        #expect(SearchQuery(parsing: "\"churn").phrases == [["churn"]])
        #expect(SearchQuery(parsing: "title:churn").words == ["title", "churn"])
        #expect(SearchQuery(parsing: "kind:").words == ["kind"])
        #expect(SearchQuery(parsing: ":").words.isEmpty)
        let long = String(repeating: "revenue churn ", count: 5_000)
        let query = SearchQuery(parsing: long)
        #expect(query.words.count == SearchQuery.maximumWords)
        #expect(query.text.count == SearchQuery.maximumLength)
    }
}

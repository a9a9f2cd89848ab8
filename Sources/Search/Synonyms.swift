/// The catalog-wide synonym list (`search.synonyms` in `almanac.yaml`), applied when
/// documents are indexed: a document that says "churn" is also indexed under "attrition"
/// (in its synonyms field, so a direct mention still ranks higher).
struct SynonymTable: Sendable {
    /// Each group's alternatives, as stems.
    private var groups: [[[String]]] = []
    private var originals: [[String]] = []
    /// First stem of an alternative → (group, alternative).
    private var byFirstTerm: [String: [(group: Int, alternative: Int)]] = [:]

    init(_ lists: [[String]] = []) {
        for list in lists {
            let alternatives = list.map(Analyzer.terms).filter { !$0.isEmpty }
            guard alternatives.count >= 2 else { continue }
            let group = groups.count
            groups.append(alternatives)
            originals.append(list)
            for (index, alternative) in alternatives.enumerated() {
                byFirstTerm[alternative[0], default: []].append((group, index))
            }
        }
    }

    var isEmpty: Bool { groups.isEmpty }

    /// One-word alternatives (as stems) of the groups in which `stem` is a one-word
    /// alternative: what a query word also matches.
    func alternatives(of stem: String) -> [String] {
        guard let candidates = byFirstTerm[stem] else { return [] }
        var out: [String] = []
        for (group, alternative) in candidates where groups[group][alternative].count == 1 {
            for other in groups[group] where other.count == 1 && other[0] != stem && !out.contains(other[0]) {
                out.append(other[0])
            }
        }
        return out
    }

    /// The other alternatives of every group one of whose alternatives the document mentions.
    func expansions(for document: SearchDocument) -> [String] {
        let text = [document.title, document.description] + document.keywords + document.tags + document.synonyms
        let terms = text.flatMap(Analyzer.terms)
        var found: [Int: Int] = [:]
        for (position, term) in terms.enumerated() {
            guard let candidates = byFirstTerm[term] else { continue }
            for (group, alternative) in candidates where found[group] == nil {
                let phrase = groups[group][alternative]
                if position + phrase.count <= terms.count,
                    terms[position..<(position + phrase.count)].elementsEqual(phrase)
                {
                    found[group] = alternative
                }
            }
        }
        return found.sorted { $0.key < $1.key }.flatMap { group, matched in
            originals[group].enumerated().filter { $0.offset != matched }.map(\.element)
        }
    }
}

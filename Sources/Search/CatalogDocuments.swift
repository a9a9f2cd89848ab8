import AlmanacCore
public import Catalog
import Foundation

/// Turns catalog objects and entity values into search documents.
///
/// Access is carried as the same group lists ``CatalogView`` checks (a metric also needs
/// its source, an entity value its entity and template), so search hides exactly what
/// pages hide.
public enum CatalogDocuments {
    public static func documents(for catalog: Catalog) -> [SearchDocument] {
        var out: [SearchDocument] = []
        func teamWords(_ id: TeamID) -> (name: String?, words: Set<String>, identities: Set<String>, people: String) {
            guard let team = catalog.team(id) else { return (nil, Set(Analyzer.words(id.rawValue)), [], id.rawValue) }
            var identities: Set<String> = []
            for member in team.members {
                identities.insert(member.name.lowercased())
                if let email = member.email { identities.insert(email.lowercased()) }
            }
            // A team restricted by `access` is not shown to outsiders, so its name and people
            // are not searchable on the objects it owns (its own page and people are
            // restricted documents). Its members still own them.
            guard team.access.isEmpty else { return (team.name, [], identities, "") }
            var words = Set(Analyzer.words(id.rawValue + " " + team.name))
            for member in team.members {
                words.formUnion(Analyzer.words(member.name))
                if let email = member.email {
                    words.formUnion(Analyzer.words(email.split(separator: "@").first.map(String.init) ?? ""))
                }
            }
            return (team.name, words, identities, ([team.name] + team.members.map(\.name)).joined(separator: " ; "))
        }
        func owned(
            _ kind: ItemKind, _ id: String, title: String, description: String?, owner: TeamID, tags: [String],
            access: [[String]], synonyms: [String] = [], status: SearchStatus = .active, certified: Bool = false,
            keywords: [String] = []
        ) -> SearchDocument {
            let team = teamWords(owner)
            return SearchDocument(
                kind: kind.rawValue, kindLabel: label(kind), target: .item(ItemKey(kind, id)), title: title,
                keywords: [id] + keywords, tags: tags, synonyms: synonyms, description: description ?? "",
                people: team.people, team: owner.rawValue, teamName: team.name, ownerWords: team.words,
                ownerIdentities: team.identities, status: status, certified: certified,
                access: access,
                popularityKey: "\(kind.rawValue)/\(id)")
        }

        for team in catalog.teams {
            let words = teamWords(team.id)
            out.append(
                SearchDocument(
                    kind: ItemKind.team.rawValue, kindLabel: label(.team),
                    target: .item(ItemKey(.team, team.id.rawValue)),
                    title: team.name, keywords: [team.id.rawValue] + [team.email, team.slack].compactMap { $0 },
                    tags: team.tags, description: team.description ?? "", people: words.people,
                    team: team.id.rawValue, teamName: team.name, ownerWords: words.words,
                    ownerIdentities: words.identities, access: [team.access],
                    popularityKey: "team/\(team.id.rawValue)"))
            for member in team.members {
                out.append(
                    SearchDocument(
                        kind: "person", kindLabel: "Person", target: .person(team: team.id, name: member.name),
                        title: member.name, keywords: [member.email].compactMap { $0 },
                        description: "\(member.role.rawValue.capitalized) on \(team.name)", people: team.name,
                        team: team.id.rawValue, teamName: team.name, ownerWords: words.words,
                        ownerIdentities: words.identities, access: [team.access]))
            }
        }
        for source in catalog.sources {
            out.append(
                owned(
                    .source, source.id.rawValue, title: source.name, description: source.description,
                    owner: source.owner, tags: source.tags, access: [source.access],
                    keywords: [source.table.description] + source.dimensions.map(\.label)))
        }
        for metric in catalog.metrics {
            let sourceAccess = catalog.source(metric.source)?.access ?? []
            out.append(
                owned(
                    .metric, metric.id.rawValue, title: metric.name, description: metric.description,
                    owner: metric.owner, tags: metric.tags, access: [metric.access, sourceAccess],
                    synonyms: metric.synonyms, status: SearchStatus(metric.status), certified: metric.certified))
        }
        for report in catalog.reports {
            out.append(
                owned(
                    .report, report.id.rawValue, title: report.title, description: report.description,
                    owner: report.owner, tags: report.tags, access: [report.access],
                    status: SearchStatus(report.status),
                    keywords: report.panels.map(\.title)))
        }
        for template in catalog.templates {
            out.append(
                owned(
                    .template, template.id.rawValue, title: template.title, description: template.description,
                    owner: template.owner, tags: template.tags, access: [template.access],
                    keywords: template.panels.map(\.title)))
        }
        for entity in catalog.entities {
            let template = catalog.template(entity.template)
            let document = SearchDocument(
                kind: ItemKind.entity.rawValue, kindLabel: label(.entity),
                target: .item(ItemKey(.entity, entity.id.rawValue)), title: entity.name, keywords: [entity.id.rawValue],
                tags: entity.tags, description: entity.description ?? "", team: template?.owner.rawValue,
                teamName: template.flatMap { catalog.team($0.owner)?.name },
                access: [entity.access, template?.access ?? []], popularityKey: "entity/\(entity.id.rawValue)")
            out.append(document)
        }
        for annotation in catalog.annotations {
            out.append(
                SearchDocument(
                    kind: ItemKind.annotation.rawValue, kindLabel: label(.annotation),
                    target: .item(ItemKey(.annotation, annotation.id.rawValue)), title: annotation.title,
                    keywords: [annotation.id.rawValue, annotation.date.description], tags: annotation.tags,
                    description: annotation.description ?? "", access: [annotation.access]))
        }
        for subscription in catalog.subscriptions {
            out.append(
                owned(
                    .subscription, subscription.id.rawValue, title: subscription.title,
                    description: subscription.description, owner: subscription.owner, tags: subscription.tags,
                    access: [subscription.access]))
        }
        for trigger in catalog.triggers {
            out.append(
                owned(
                    .trigger, trigger.id.rawValue, title: trigger.title, description: trigger.description,
                    owner: trigger.owner, tags: trigger.tags, access: [trigger.access]))
        }
        for backend in catalog.backends {
            out.append(
                owned(
                    .backend, backend.id.rawValue, title: backend.title, description: backend.description,
                    owner: backend.owner, tags: backend.tags, access: [backend.access]))
        }
        return deduplicated(out)
    }

    /// One document per target (two people of one name in a team are one hit): the index
    /// tells documents apart by target when it updates incrementally.
    public static func deduplicated(_ documents: [SearchDocument]) -> [SearchDocument] {
        var seen = Set<SearchTarget>()
        return documents.filter { seen.insert($0.target).inserted }
    }

    /// "Report", "Metric", "Template"…
    public static func label(_ kind: ItemKind) -> String {
        switch kind {
        case .metric: "Metric"
        case .entity: "Entity"
        default: kind.rawValue.prefix(1).uppercased() + kind.rawValue.dropFirst()
        }
    }

    /// One row of an entity's lookup: the key (the template parameter's value), the label
    /// and the other searchable values.
    public struct EntityRow: Sendable, Hashable {
        public var key: String
        public var label: String
        public var aliases: [String]
        public init(key: String, label: String, aliases: [String]) {
            self.key = key
            self.label = label
            self.aliases = aliases
        }
    }

    /// Documents for an entity's values: each opens the entity's template with its key.
    public static func documents(for entity: Entity, rows: [EntityRow], catalog: Catalog) -> [SearchDocument] {
        let template = catalog.template(entity.template)
        let access = [entity.access, template?.access ?? []]
        let team = template?.owner.rawValue
        let teamName = template.flatMap { catalog.team($0.owner)?.name }
        // An entity parameter matched on another column (`domain`) is linked with that
        // column's value, so shared links read /templates/customer?domain=globex.com.
        let columns = [entity.key, entity.label] + entity.search.filter { $0 != entity.label && $0 != entity.key }
        let by = template?.parameters.first { $0.name == entity.parameter && $0.type == .entity }?.by
        let linkColumn = by.flatMap { columns.firstIndex(of: $0) } ?? 0
        var seen = Set<String>()
        var out: [SearchDocument] = []
        out.reserveCapacity(rows.count)
        for row in rows where seen.insert(row.key).inserted {
            let linkValue =
                switch linkColumn {
                case 0: row.key
                case 1: row.label
                default: linkColumn - 2 < row.aliases.count ? row.aliases[linkColumn - 2] : row.key
                }
            let aliases = row.aliases.filter { !$0.isEmpty && $0 != row.label }
            out.append(
                SearchDocument(
                    kind: entity.id.rawValue, kindLabel: entity.name,
                    target: .entityValue(
                        entity: entity.id, template: entity.template, parameter: entity.parameter, value: linkValue),
                    title: row.label, keywords: aliases, tags: entity.tags,
                    description: aliases.joined(separator: " · "), team: team, teamName: teamName, access: access,
                    popularityKey: nil))
        }
        return out
    }
}

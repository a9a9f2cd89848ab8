public import AlmanacCore
public import Catalog

/// Where a search hit leads.
public enum SearchTarget: Hashable, Sendable {
    /// A catalog object's own page.
    case item(ItemKey)
    /// A person, shown on their team's page.
    case person(team: TeamID, name: String)
    /// One value of an entity (a customer, a campaign…): its template, with the parameter filled in.
    case entityValue(entity: EntityID, template: TemplateID, parameter: String, value: String)
}

/// Whether an object is in use: drafts and retired objects are hidden from search unless
/// asked for (`status:retired`) or owned by the viewer; deprecated ones are demoted.
public enum SearchStatus: String, CaseIterable, Hashable, Sendable, Codable {
    case active, deprecated, draft, retired

    init(_ status: ReportStatus) {
        switch status {
        case .active: self = .active
        case .deprecated: self = .deprecated
        case .draft: self = .draft
        case .retired: self = .retired
        }
    }

    /// Shown to everyone without asking.
    public var isListed: Bool { self == .active || self == .deprecated }

    /// Lifecycle order, for listing.
    var order: Int {
        switch self {
        case .active: 0
        case .deprecated: 1
        case .draft: 2
        case .retired: 3
        }
    }
}

/// One searchable thing: a catalog object, a person or an entity value, with its text by
/// field and what filters, facets, access and ranking need.
public struct SearchDocument: Hashable, Sendable {
    /// The kind as users filter by it: `report`, `metric`, `person`, or the entity's id
    /// (`customer`) for entity values.
    public var kind: String
    /// "Report", "Metric", "Customer".
    public var kindLabel: String
    public var target: SearchTarget
    public var title: String
    /// Ids, aliases and other names, weighted almost like the title.
    public var keywords: [String]
    public var tags: [String]
    public var synonyms: [String]
    public var description: String
    /// Owner team and people, weighted least.
    public var people: String
    /// The owning team's id.
    public var team: String?
    public var teamName: String?
    /// Folded words of the owning team's id, name and members, for `owner:`.
    public var ownerWords: Set<String>
    /// Identities (user names, e-mails) that own this document: hidden statuses show to them.
    public var ownerIdentities: Set<String>
    public var status: SearchStatus
    public var certified: Bool
    /// Group lists that must each allow the viewer (an object's own `access`, its source's…).
    public var access: [[String]]
    /// `kind/id` in the view log, for popularity.
    public var popularityKey: String?

    public init(
        kind: String, kindLabel: String, target: SearchTarget, title: String, keywords: [String] = [],
        tags: [String] = [], synonyms: [String] = [], description: String = "", people: String = "",
        team: String? = nil, teamName: String? = nil, ownerWords: Set<String> = [], ownerIdentities: Set<String> = [],
        status: SearchStatus = .active, certified: Bool = false, access: [[String]] = [], popularityKey: String? = nil
    ) {
        self.kind = kind
        self.kindLabel = kindLabel
        self.target = target
        self.title = title
        self.keywords = keywords
        self.tags = tags
        self.synonyms = synonyms
        self.description = description
        self.people = people
        self.team = team
        self.teamName = teamName
        self.ownerWords = ownerWords
        self.ownerIdentities = ownerIdentities
        self.status = status
        self.certified = certified
        self.access = access.filter { !$0.isEmpty }
        self.popularityKey = popularityKey
    }

    /// How the search log names this result when it is opened (`kind/id`, or for an entity
    /// value the template and its parameter); `nil` for people.
    public var clickKey: String? {
        switch target {
        case .item(let key): Self.clickKey(kind: key.kind, id: key.id)
        case .person: nil
        case .entityValue(_, let template, let parameter, let value):
            Self.clickKey(kind: .template, id: template.rawValue, parameter: (parameter, value))
        }
    }

    /// The search log's name for a page that was opened: `kind/id`, and for a page of one
    /// parameter (an entity value's) `kind/id?parameter=value`. The portal names the pages it
    /// serves with it, so a click matches the result it came from.
    public static func clickKey(
        kind: ItemKind, id: String, parameter: (name: String, value: String)? = nil
    )
        -> String
    {
        guard let parameter else { return "\(kind.rawValue)/\(id)" }
        return "\(kind.rawValue)/\(id)?\(parameter.name)=\(parameter.value)"
    }

    /// Whether `viewer` may see this document at all.
    public func isVisible(to viewer: Viewer) -> Bool {
        access.allSatisfy { AccessPolicy.allows(viewer, groups: $0) }
    }
}

/// The searchable fields with their weights: title/name over ids and aliases, over tags,
/// over synonyms, over description, over people.
enum SearchField: Int, CaseIterable, Sendable {
    case title, keywords, tags, synonyms, description, people
    /// Words the catalog-wide synonym list adds (a document saying "churn" also says
    /// "attrition" here); weighted low, so a direct mention ranks higher.
    case expansions

    var weight: Float {
        switch self {
        case .title: 10
        case .keywords: 8
        case .tags: 5
        case .synonyms: 4
        case .description: 2
        case .people: 1
        case .expansions: 1.5
        }
    }

    var name: String {
        switch self {
        case .title: "title"
        case .keywords: "keywords"
        case .tags: "tags"
        case .synonyms: "synonyms"
        case .description: "description"
        case .people: "people"
        case .expansions: "expansions"
        }
    }

    func text(of document: SearchDocument) -> String {
        switch self {
        case .title: document.title
        case .keywords: document.keywords.joined(separator: " ; ")
        case .tags: document.tags.joined(separator: " ; ")
        case .synonyms: document.synonyms.joined(separator: " ; ")
        case .description: document.description
        case .people: document.people
        case .expansions: ""
        }
    }
}

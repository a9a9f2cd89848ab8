/// Who is looking: the identity a trusted SSO proxy vouched for, or an anonymous
/// developer on loopback.
///
/// The portal builds one per request; every decision about what may be shown takes it.
public struct Viewer: Hashable, Sendable, Codable {
    /// The user name or e-mail from the identity header; `nil` for the anonymous developer.
    public var user: String?
    /// Groups from the groups header (or the configured defaults).
    public var groups: Set<String>
    /// Whether this viewer may open admin pages and see every item (set by the portal from
    /// the catalog's admin groups, or for the anonymous developer on loopback).
    public var isAdmin: Bool
    /// The teams this viewer belongs to, when already decided (the stand-in reader of an
    /// audience has no name to look up in the member lists); `nil` decides by name and groups.
    public var memberOf: Set<String>?

    public init(user: String?, groups: Set<String> = [], isAdmin: Bool = false, memberOf: Set<String>? = nil) {
        self.user = user
        self.groups = groups
        self.isAdmin = isAdmin
        self.memberOf = memberOf
    }

    /// The developer on loopback in dev mode: sees everything, so the demo shows it all.
    public static let localDeveloper = Viewer(user: nil, groups: [], isAdmin: true)

    public var displayName: String { user ?? "local developer" }
}

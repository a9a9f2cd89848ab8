public import AlmanacCore
public import Catalog

/// A person (or a team's shared mailbox) a message goes to, and what they may see.
public struct ResolvedRecipient: Sendable, Hashable {
    /// The e-mail address, lower-cased.
    public var address: String
    /// The address as a viewer: its groups are the catalog teams it belongs to, so the
    /// same ``AccessPolicy`` that guards pages decides what it receives.
    public var viewer: Viewer
    /// How the catalog named it: `team:growth`, or the address itself.
    public var via: String
}

/// Turns a subscription's or trigger's recipients into addresses with their access.
///
/// The portal learns groups from an SSO header per request; e-mail has no request, so a
/// recipient's groups are the ids of the catalog teams that list its address as a member
/// (and, for a team's own mailbox, that team). An address in an admin group is an admin.
public struct RecipientDirectory: Sendable {
    public let catalog: Catalog

    public init(catalog: Catalog) { self.catalog = catalog }

    /// Every address the recipients name, once (the first way it was named wins), in order.
    public func resolve(_ recipients: [Recipient]) -> [ResolvedRecipient] {
        var seen = Set<String>()
        var result: [ResolvedRecipient] = []
        func add(_ address: String, via: String, extraGroup: String? = nil) {
            let address = address.lowercased()
            guard seen.insert(address).inserted else { return }
            result.append(
                ResolvedRecipient(address: address, viewer: viewer(for: address, extraGroup: extraGroup), via: via))
        }
        for recipient in recipients {
            switch recipient {
            case .email(let address): add(address, via: address)
            case .team(let id):
                guard let team = catalog.team(id) else { continue }
                let members = team.members.compactMap(\.email)
                if members.isEmpty, let mailbox = team.email {
                    // A team listed without addresses: its shared mailbox speaks for the team.
                    add(mailbox, via: "team:\(id)", extraGroup: id.rawValue)
                }
                for member in members { add(member, via: "team:\(id)") }
            case .url: continue
            }
        }
        return result
    }

    /// The viewer an address stands for.
    public func viewer(for address: String, extraGroup: String? = nil) -> Viewer {
        let lowered = address.lowercased()
        var groups = Set(
            catalog.teams.filter { team in
                team.members.contains { $0.email?.lowercased() == lowered } || team.email?.lowercased() == lowered
            }.map(\.id.rawValue))
        if let extraGroup { groups.insert(extraGroup) }
        let isAdmin = !groups.isDisjoint(with: catalog.settings.adminGroups)
        return Viewer(user: lowered, groups: groups, isAdmin: isAdmin)
    }
}

import Foundation

/// How much an item is viewed, in recent windows.
public struct Popularity: Sendable, Hashable, Codable {
    public var views7: Int
    public var views30: Int
    public var views90: Int

    public init(views7: Int = 0, views30: Int = 0, views90: Int = 0) {
        self.views7 = views7
        self.views30 = views30
        self.views90 = views90
    }

    /// The ranking factor: log-scaled, recent views counting more, so a report read daily
    /// by a team beats one opened once, but not by so much that a title match loses to a
    /// popular page that mentions the word in passing.
    var boost: Float {
        let recent = Double(views7) * 3 + Double(views30) + Double(views90) / 3
        return 1 + 0.1 * Float(log1p(recent))
    }
}

/// Where search reads popularity from; the portal implements it from the usage figures
/// (`ViewLogPopularity`).
public protocol PopularitySource: Sendable {
    /// Views per item, keyed by `kind/id` (e.g. `report/weekly-active-users`).
    func popularity() async throws -> [String: Popularity]
}

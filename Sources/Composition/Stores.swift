public import AlmanacCore
public import Catalog
public import Storage
public import Warehouse

/// A warehouse to open from its location (a SQLite file or postgres:// URL), or one already
/// open (a test's, with its own clock).
public enum WarehouseSource: Sendable {
    case location(String)
    case opened(any Warehouse)
}

/// The stores a command works on, opened from where its options say they are: the first step
/// of every environment (`serve`, `demo`, `generator`, `search`, `generate`, `deliver`, the
/// lifecycle and usage commands, the tests), so each store is opened, and each failure
/// worded, one way.
public struct Stores: Sendable {
    /// The catalog, loaded and watched from its folder.
    public let catalog: CatalogStore
    /// The state store (a SQLite file, or PostgreSQL shared by several instances), not yet
    /// migrated (see ``migrated()``); `nil` when none was asked for.
    public let state: (any StateStore)?
    /// The warehouse, when one was asked for.
    public let warehouse: (any Warehouse)?

    /// Opens the catalog in the folder `catalog`, the state store at `state` and the `warehouse`.
    ///
    /// - Throws: ``SetupError`` naming the store that cannot be opened and why (for a catalog
    ///   with errors, each error with its file:line:column).
    public static func open(
        catalog directory: String, state: String?, warehouse: WarehouseSource?
    ) throws(SetupError) -> Stores {
        let catalog: CatalogStore
        do {
            catalog = try CatalogStore(directory: directory)
        } catch {
            throw SetupError(error.userMessage, hint: error.hint)
        }
        var stateStore: (any StateStore)?
        if let state {
            do {
                stateStore = try StateStores.open(location: state)
            } catch {
                throw SetupError("\(error)")
            }
        }
        var opened: (any Warehouse)?
        switch warehouse {
        case .none: break
        case .opened(let warehouse): opened = warehouse
        case .location(let location):
            do {
                opened = try WarehouseLocation.open(location)
            } catch {
                throw SetupError("cannot open the warehouse '\(WarehouseLocation.redacted(location))': \(error)")
            }
        }
        return Stores(catalog: catalog, state: stateStore, warehouse: opened)
    }

    /// The state store, migrated to this version's schema.
    ///
    /// - Throws: ``SetupError`` when none was opened; the migration's error when it fails.
    public func migrated() async throws -> any StateStore {
        guard let state else { throw SetupError("no state store was given") }
        try await state.migrate()
        return state
    }
}

/// A store or setting could not be opened or used; the message names which and why.
public struct SetupError: AlmanacError, Sendable {
    public var userMessage: String
    public var hint: String?
    public init(_ message: String, hint: String? = nil) {
        userMessage = message
        self.hint = hint
    }
}

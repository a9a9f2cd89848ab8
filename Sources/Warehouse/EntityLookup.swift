public import AlmanacCore
public import Catalog

/// Reads an entity's values (every customer, campaign, city…) from its source, for search.
public enum EntityLookup {
    /// One value: the key the template takes, the label people know it by, and the other
    /// searchable columns.
    public struct Row: Sendable, Hashable {
        public var key: String
        public var label: String
        public var aliases: [String]
    }

    /// Refuses to read more values than this for one entity (search keeps them in memory).
    public static let maximumRows = 2_000_000

    /// `SELECT key, label, search… FROM table WHERE filters`, values bound.
    public static func statement(
        for entity: Entity, catalog: Catalog, dialect: SQLDialect
    ) throws(CompileError) -> CompiledStatement {
        guard let source = catalog.source(entity.source) else {
            throw CompileError("entity '\(entity.id)' names source '\(entity.source)', which is not in the catalog")
        }
        var builder = StatementBuilder(dialect: dialect)
        let columns = [entity.key, entity.label] + entity.search.filter { $0 != entity.label && $0 != entity.key }
        for column in columns where source.column(named: column.name) == nil {
            throw CompileError("column '\(column)' of entity '\(entity.id)' is not a declared column of '\(source.id)'")
        }
        let select = columns.map { builder.textCast("t." + $0.quoted) }.joined(separator: ", ")
        var conditions: [String] = []
        for filter in entity.filters { conditions.append(try builder.condition(filter, source: source, alias: "t")) }
        conditions.append("t.\(entity.key.quoted) IS NOT NULL")
        let sql =
            "SELECT \(select) FROM \(source.table.quoted) t WHERE \(conditions.joined(separator: " AND ")) "
            + "ORDER BY 1 LIMIT \(maximumRows)"
        return CompiledStatement(
            role: .value, sql: sql, parameters: builder.parameters, columns: columns.map(\.name))
    }

    /// The entity's values from `warehouse`.
    public static func rows(
        for entity: Entity, catalog: Catalog, warehouse: any Warehouse, timeout: Duration = .seconds(60)
    ) async throws -> [Row] {
        let statement = try statement(for: entity, catalog: catalog, dialect: warehouse.dialect)
        let result = try await warehouse.run(statement, timeout: timeout)
        return result.compactMap { values in
            guard let key = text(values.first) else { return nil }
            let label = text(values.count > 1 ? values[1] : nil) ?? key
            return Row(key: key, label: label, aliases: values.dropFirst(2).compactMap(text))
        }
    }

    private static func text(_ value: SQLValue?) -> String? {
        switch value {
        case .text(let text): text
        case .integer(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): String(flag)
        case .null, nil: nil
        }
    }
}

extension EntityLookup {
    /// The key of the entity value whose `column` (its key when `nil`) equals `value`, typed as
    /// the key column is; `nil` when no value matches. Values are bound; the entity's own
    /// filters apply, so a template cannot be generated for a value search would not offer.
    public static func key(
        of entity: Entity, where column: SQLIdentifier?, equals value: String, catalog: Catalog,
        warehouse: any Warehouse, timeout: Duration = .seconds(30)
    ) async throws -> FilterValue? {
        guard let source = catalog.source(entity.source), let keyColumn = source.column(named: entity.key.name) else {
            throw CompileError("entity '\(entity.id)' names source '\(entity.source)', which is not in the catalog")
        }
        let match = column ?? entity.key
        var builder = StatementBuilder(dialect: warehouse.dialect)
        var conditions: [String] = []
        for filter in entity.filters + [Filter(column: match, op: .eq, value: .string(value))] {
            conditions.append(try builder.condition(filter, source: source, alias: "t"))
        }
        let sql =
            "SELECT t.\(entity.key.quoted) FROM \(source.table.quoted) t WHERE "
            + conditions.joined(separator: " AND ") + " ORDER BY 1 LIMIT 1"
        let rows = try await warehouse.run(
            CompiledStatement(role: .value, sql: sql, parameters: builder.parameters, columns: [entity.key.name]),
            timeout: timeout)
        switch rows.first?.first {
        case .integer(let number)?: return .integer(Int(number))
        case .double(let number)? where keyColumn.type == .integer: return .integer(Int(number))
        case .double(let number)?: return .number(number)
        case .text(let text)? where keyColumn.type == .integer: return Int(text).map { .integer($0) } ?? .string(text)
        case .text(let text)?: return .string(text)
        case .bool(let flag)?: return .boolean(flag)
        case .null?, nil: return nil
        }
    }
}

extension EntityLookup {
    /// `columns` (as text) of the rows of `source` that pass `filters`, values bound; at most
    /// ``maximumRows``. Triggers read their entities' keys, labels and assignees this way.
    public static func columns(
        _ columns: [SQLIdentifier], of source: Source, where filters: [Filter], catalog: Catalog,
        warehouse: any Warehouse, timeout: Duration = .seconds(60)
    ) async throws -> [[String?]] {
        var builder = StatementBuilder(dialect: warehouse.dialect)
        for column in columns where source.column(named: column.name) == nil {
            throw CompileError("column '\(column)' is not a declared column of source '\(source.id)'")
        }
        let select = columns.map { builder.textCast("t." + $0.quoted) }.joined(separator: ", ")
        var conditions: [String] = []
        for filter in filters { conditions.append(try builder.condition(filter, source: source, alias: "t")) }
        let sql =
            "SELECT \(select) FROM \(source.table.quoted) t"
            + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + " ORDER BY 1 LIMIT \(maximumRows)"
        let rows = try await warehouse.run(
            CompiledStatement(role: .value, sql: sql, parameters: builder.parameters, columns: columns.map(\.name)),
            timeout: timeout)
        return rows.map { $0.map(text) }
    }
}

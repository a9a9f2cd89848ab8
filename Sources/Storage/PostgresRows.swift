import Foundation
import Logging
import PostgresNIO

// The PostgreSQL store reads its rows into the same record types as the SQLite store
// (`Records.swift`), through their `Decodable` conformance: the conversion of each table's row
// to the public value type stays in one place for both backends. Times are `double precision`
// seconds since 1970, as the SQLite store's REAL columns.

/// Decodes one of the state tables' record types from a PostgreSQL row, by column name.
struct PostgresRowDecoder: Decoder {
    let row: PostgresRandomAccessRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ row: PostgresRandomAccessRow) { self.row = row }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Columns<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(
            [Any].self, .init(codingPath: [], debugDescription: "a state row is read by column name"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(
            Any.self, .init(codingPath: [], debugDescription: "a state row is read by column name"))
    }

    /// The row's columns, each decoded by postgres-nio as the type the record declares.
    struct Columns<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: PostgresRandomAccessRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { row.compactMap { Key(stringValue: $0.columnName) } }

        func contains(_ key: Key) -> Bool { row.contains(key.stringValue) }

        func cell(_ key: Key) throws -> PostgresCell {
            guard row.contains(key.stringValue) else {
                throw DecodingError.keyNotFound(
                    key, .init(codingPath: [], debugDescription: "no column '\(key.stringValue)'"))
            }
            return row[key.stringValue]
        }

        func decodeNil(forKey key: Key) throws -> Bool { try cell(key).bytes == nil }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try cell(key).decode(Bool.self) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try cell(key).decode(String.self) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try cell(key).decode(Double.self) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try cell(key).decode(Float.self) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try cell(key).decode(Int.self) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try narrow(key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try cell(key).decode(Int16.self) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try cell(key).decode(Int32.self) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try cell(key).decode(Int64.self) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try narrow(key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try narrow(key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try narrow(key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try narrow(key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try narrow(key) }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            // A time is seconds since 1970 (Date's own Decodable would read seconds since 2001).
            if T.self == Date.self {
                return Date(timeIntervalSince1970: try cell(key).decode(Double.self)) as! T
            }
            if let decodable = T.self as? any PostgresDecodable.Type {
                return try Self.decode(decodable, from: cell(key)) as! T
            }
            throw DecodingError.typeMismatch(
                type, .init(codingPath: [key], debugDescription: "a state column holds no \(type)"))
        }

        private static func decode<V: PostgresDecodable>(_ type: V.Type, from cell: PostgresCell) throws -> V {
            try cell.decode(V.self)
        }

        private func narrow<T: FixedWidthInteger>(_ key: Key) throws -> T {
            let value = try cell(key).decode(Int64.self)
            guard let narrowed = T(exactly: value) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: self, debugDescription: "\(value) does not fit in \(T.self)")
            }
            return narrowed
        }

        func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type, forKey key: Key
        ) throws -> KeyedDecodingContainer<NestedKey> {
            throw DecodingError.typeMismatch(
                type, .init(codingPath: [key], debugDescription: "a state column is a single value"))
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch(
                [Any].self, .init(codingPath: [key], debugDescription: "a state column is a single value"))
        }

        func superDecoder() throws -> any Decoder { PostgresRowDecoder(row) }
        func superDecoder(forKey key: Key) throws -> any Decoder { PostgresRowDecoder(row) }
    }
}

extension PostgresConnection {
    /// Runs `query` and returns its rows (none for a statement without `RETURNING`).
    @discardableResult
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    /// Runs `query` and decodes each row as a `T` by column name.
    func records<T: Decodable>(_ type: T.Type, _ query: PostgresQuery, _ logger: Logger) async throws -> [T] {
        try await rows(query, logger).map { try T(from: PostgresRowDecoder($0)) }
    }

    /// How many rows `query` returned: the rows an `UPDATE … RETURNING 1` changed.
    func count(_ query: PostgresQuery, _ logger: Logger) async throws -> Int {
        try await rows(query, logger).count
    }

    /// The first column of the first row, decoded as a `T`.
    func value<T: PostgresDecodable>(_ type: T.Type, _ query: PostgresQuery, _ logger: Logger) async throws -> T? {
        guard let row = try await rows(query, logger).first else { return nil }
        return try row[0].decode(T.self)
    }
}

/// A `LIMIT` as the SQLite store reads it: a negative one is no limit (`LIMIT NULL`).
func unlimitedIfNegative(_ limit: Int) -> Int? { limit < 0 ? nil : limit }

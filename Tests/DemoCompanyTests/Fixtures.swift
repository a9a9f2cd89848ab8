import AlmanacCore
import DemoCompany
import Foundation
import GRDB

/// A generated warehouse on disk, with the summary its writer returned.
struct GeneratedWarehouse: Sendable {
    let directory: TemporaryDirectory
    let path: String
    let summary: DemoCompanySummary

    /// Generates a warehouse with `options` into a new temporary directory.
    static func make(_ options: DemoCompanyOptions) throws -> GeneratedWarehouse {
        let directory = try TemporaryDirectory()
        let path = directory.file("warehouse.sqlite")
        let summary = try DemoCompany.write(to: path, options: options, progress: SilentProgress())
        return GeneratedWarehouse(directory: directory, path: path, summary: summary)
    }

    /// A read-only connection to the file.
    func open() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}

/// The tiny warehouse (default seed and day) that the read-only tests share: generated on first
/// use, deleted when the test process exits.
enum SharedWarehouse {
    static let options = DemoCompanyOptions(size: .tiny)

    private static let generated: Result<GeneratedWarehouse, any Error> = Result {
        let warehouse = try GeneratedWarehouse.make(options)
        atexit { SharedWarehouse.removeFiles() }
        return warehouse
    }

    static func get() throws -> GeneratedWarehouse { try generated.get() }

    private static func removeFiles() {
        if case .success(let warehouse) = generated { warehouse.directory.remove() }
    }
}

extension DatabaseQueue {
    /// The integer result of a one-value query.
    func int(_ sql: String) throws -> Int {
        try read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
    }

    /// The floating-point result of a one-value query.
    func double(_ sql: String) throws -> Double {
        try read { db in try Double.fetchOne(db, sql: sql) ?? 0 }
    }

    /// The text result of a one-value query.
    func string(_ sql: String) throws -> String? {
        try read { db in try String.fetchOne(db, sql: sql) }
    }
}

public import AlmanacCore
public import Catalog
import DemoCompany
import Foundation
public import Warehouse

/// A small demo company (the `.tiny` size: 12,000 users, 240,000 events), written once per
/// test process and shared read-only by every suite.
public enum TestWarehouse {
    private static let directory = try! TemporaryDirectory(prefix: "almanac-tiny-demo")

    /// The SQLite file of the tiny demo company, ending on ``asOf``.
    public static let tinyDemo: String = {
        let path = directory.file("warehouse.sqlite")
        _ = try! DemoCompany.write(
            to: path, options: DemoCompanyOptions(asOf: asOf.description, size: .tiny), progress: SilentProgress())
        return path
    }()

    /// The last day of the tiny demo's history.
    public static let asOf = CalendarDay(parsing: "2026-11-25")!

    /// The tiny demo as a warehouse whose queries have no time limit: their deadlines are on a
    /// manual clock nobody moves, so a busy machine makes a query slower, never a failure.
    /// (Tests of the time limits themselves give a clock they move.)
    public static func open() throws -> SQLiteWarehouse {
        try SQLiteWarehouse(path: tinyDemo, clock: ManualClock())
    }

    /// The demo catalog, loaded once.
    public static let demoCatalog: Catalog = CatalogLoader.load(directory: Repository.demoCatalog).catalog!
}

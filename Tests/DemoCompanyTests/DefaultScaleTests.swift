import AlmanacCore
import DemoCompany
import GRDB
import Testing

/// The documented default size, generated for real.
@Suite("Demo company at the default scale", .timeLimit(.minutes(10)))
struct DefaultScaleTests {
    @Test("the default options write 5,000 workspaces, at least 100,000 users and 6,500,000 events")
    func defaultScaleCounts() throws {
        let warehouse = try GeneratedWarehouse.make(DemoCompanyOptions())
        let queue = try warehouse.open()
        let workspaces = try queue.int("SELECT count(*) FROM workspaces")
        let users = try queue.int("SELECT count(*) FROM users")
        let events = try queue.int("SELECT max(event_id) FROM events")
        #expect(workspaces == 5_000)
        #expect(users >= 100_000)
        #expect(events >= 6_500_000)
        #expect(try queue.int("SELECT count(*) FROM workspaces WHERE tier = 'major'") == 40)
        #expect(warehouse.summary.rowCounts["events"] == events)
        #expect(warehouse.summary.rowCounts["users"] == users)
        let planned = try DemoCompany.plannedRowCounts(options: DemoCompanyOptions())
        #expect(planned["events"] == events && planned["users"] == users && planned["workspaces"] == workspaces)
    }
}

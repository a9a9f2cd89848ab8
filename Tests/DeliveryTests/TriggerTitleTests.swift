import AlmanacCore
import AlmanacTestSupport
import Catalog
import Delivery
import Foundation
import Testing

/// A trigger's task title is a Mustache template over the hit, rendered as plain text: values
/// are not HTML-escaped, and what a value says is never expanded again.
@Suite struct TriggerTitleTests {
    @Test func theTitleIsFilledInOnceAsPlainText() throws {
        let catalog = TestWarehouse.demoCatalog
        let trigger = try #require(catalog.triggers.first { $0.id.rawValue == "upgrade-opportunity" })
        let evaluator = TriggerEvaluator(catalog: catalog, warehouse: try TestWarehouse.open())
        let hit = TriggerHit(
            key: "w1", label: "Initech & {{metric}}", linkValue: "initech.example", current: 150, previous: 100,
            measured: 0.5)
        let title = evaluator.title(trigger, hit: hit)
        #expect(title.hasPrefix("Initech & {{metric}} grew 50"), "\(title)")
        #expect(title.hasSuffix(": talk about seats or an upgrade"))
    }

    /// Every name `catalog check` lets a title use is filled in (none renders empty).
    @Test func everyPlaceholderTheCatalogAllowsIsFilledIn() throws {
        let catalog = TestWarehouse.demoCatalog
        var trigger = try #require(catalog.triggers.first { $0.id.rawValue == "upgrade-opportunity" })
        let evaluator = TriggerEvaluator(catalog: catalog, warehouse: try TestWarehouse.open())
        let hit = TriggerHit(
            key: "w1", label: "Initech", linkValue: "initech.example", current: 150, previous: 100, measured: 0.5)
        for name in TriggerAction.titlePlaceholders {
            trigger.action.title = "[{{\(name)}}]"
            #expect(evaluator.title(trigger, hit: hit) != "[]", "{{\(name)}}")
        }
    }
}

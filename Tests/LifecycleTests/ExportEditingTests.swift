import Catalog
import Foundation
import Testing

@testable import Lifecycle

/// The in-place edits of `almanac lifecycle export --write`, on the shapes YAML files take.
@Suite(.timeLimit(.minutes(10))) struct ExportEditingTests {
    @Test func aMultiLineValueIsReplacedWholeInCRLFFiles() {
        let text = [
            "id: old", "title: Old", "owner: growth", "status: deprecated", "status_reason: |", "  First line.", "",
            "  After a blank line.", "grain: day", "",
        ].joined(separator: "\r\n")
        let edited = LifecycleExport.apply(
            [("status", "retired"), ("status_reason", "\"Gone\""), ("replaced_by", "new")], to: text)
        #expect(
            edited
                == [
                    "id: old", "title: Old", "owner: growth", "status: retired", "status_reason: \"Gone\"",
                    "replaced_by: new", "grain: day", "",
                ].joined(separator: "\r\n"))
    }

    @Test func newKeysFollowEachOtherAfterTheStatusAndRemovalsTakeTheirLines() {
        let text = "id: a\nowner: growth\nstatus: active\ntags: [x]\npanels:\n  - title: T\n"
        let edited = LifecycleExport.apply(
            [("status", "deprecated"), ("status_reason", "\"Why\""), ("replaced_by", "b"), ("owner", "product")],
            to: text)
        #expect(
            edited
                == "id: a\nowner: product\nstatus: deprecated\nstatus_reason: \"Why\"\nreplaced_by: b\ntags: [x]\npanels:\n  - title: T\n"
        )
        let restored = LifecycleExport.apply(
            [("status", "active"), ("status_reason", nil), ("replaced_by", nil)], to: edited)
        #expect(restored == "id: a\nowner: product\nstatus: active\ntags: [x]\npanels:\n  - title: T\n")
        // Without a trailing newline, and without a status line: after the owner.
        #expect(
            LifecycleExport.apply([("certified", "true")], to: "id: m\nowner: growth\nsource: s")
                == "id: m\nowner: growth\ncertified: true\nsource: s\n")
    }
}

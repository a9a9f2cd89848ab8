import AlmanacTestSupport
import Artifacts
import Foundation
import Testing

@Suite(.timeLimit(.minutes(10))) struct ArtifactStoreTests {
    @Test func writesVersionsAndPointsLatestAtTheNewest() throws {
        let directory = try TemporaryDirectory()
        let store = ArtifactStore(root: directory.path)
        let first = try store.write(
            id: "growth", files: ["page.html": Data("v1".utf8)], generatedAt: Date(timeIntervalSince1970: 1_000),
            keep: 2)
        #expect(store.latest(id: "growth")?.name == first.name)
        let second = try store.write(
            id: "growth", files: ["page.html": Data("v2".utf8), "panel-1.csv": Data("a,b\n".utf8)],
            generatedAt: Date(timeIntervalSince1970: 2_000), keep: 2)
        #expect(store.latest(id: "growth")?.name == second.name)
        #expect(store.latest(id: "growth")?.files == ["page.html", "panel-1.csv"])
        #expect(store.read(id: "growth", version: second.name, file: "page.html") == Data("v2".utf8))
        _ = try store.write(
            id: "growth", files: ["page.html": Data("v3".utf8)], generatedAt: Date(timeIntervalSince1970: 3_000),
            keep: 2)
        #expect(store.versions(id: "growth").count == 2)
        #expect(!store.versions(id: "growth").contains(first.name))
    }

    /// A writer killed after writing some files leaves a hidden temporary folder; the previous
    /// version stays the latest and complete, and the next write clears the leftovers.
    @Test func anAbandonedWriteNeverBecomesVisible() throws {
        let directory = try TemporaryDirectory()
        let store = ArtifactStore(root: directory.path)
        let good = try store.write(
            id: "growth", files: ["page.html": Data("good".utf8)], generatedAt: Date(timeIntervalSince1970: 1_000),
            keep: 3)
        let abandoned = directory.file("reports/growth/.tmp-20990101T000000Z-dead")
        try FileManager.default.createDirectory(atPath: abandoned, withIntermediateDirectories: true)
        try Data("half".utf8).write(to: URL(fileURLWithPath: abandoned + "/page.html"))
        #expect(store.latest(id: "growth")?.name == good.name)
        #expect(store.versions(id: "growth") == [good.name])
        _ = try store.write(
            id: "growth", files: ["page.html": Data("next".utf8)], generatedAt: Date(timeIntervalSince1970: 2_000),
            keep: 3)
        #expect(!FileManager.default.fileExists(atPath: abandoned))
    }

    @Test func unsafeNamesAreRefused() throws {
        let directory = try TemporaryDirectory()
        let store = ArtifactStore(root: directory.path)
        #expect(throws: (any Error).self) {
            try store.write(id: "growth", files: ["../escape.html": Data()], generatedAt: Date(), keep: 1)
        }
        #expect(store.read(id: "growth", version: "..", file: "LATEST") == nil)
        #expect(store.latest(id: "growth") == nil)
    }

    /// `LATEST` is read on every page request: what it names is used only when it is a plain
    /// file name, whatever else a damaged or hostile pointer holds.
    @Test func theLatestPointerIsReadOnlyWhenItNamesAVersion() throws {
        let directory = try TemporaryDirectory()
        let store = ArtifactStore(root: directory.path)
        #expect(store.latestName(id: "growth") == nil, "no report folder yet")
        let version = try store.write(
            id: "growth", files: ["page.html": Data("v1".utf8)], generatedAt: Date(timeIntervalSince1970: 1_000),
            keep: 2)
        #expect(store.latestName(id: "growth") == version.name)
        let pointer = directory.file("reports/growth/LATEST")
        for (content, expected) in [
            ("20261127T043000Z-1a2b", "20261127T043000Z-1a2b"), ("übersicht-2", "übersicht-2"), ("", nil),
            ("../../etc", nil), (".hidden", nil), ("name with spaces", nil), ("line\nbreak", nil),
            (String(repeating: "a", count: 129), nil),
            (String(repeating: "a", count: 128), String(repeating: "a", count: 128)),
            (String(repeating: "a", count: 5_000), nil),
        ] as [(String, String?)] {
            try Data(content.utf8).write(to: URL(fileURLWithPath: pointer))
            #expect(store.latestName(id: "growth") == expected, "LATEST holding \(content.prefix(40))")
        }
        try Data([0x66, 0xFF, 0x66]).write(to: URL(fileURLWithPath: pointer))
        #expect(store.latestName(id: "growth") == nil, "not UTF-8")
    }
}

import AlmanacTestSupport
import Foundation
import Testing

/// The README's pictures come from `scripts/screenshots`, so none can go stale unnoticed: an
/// image the README shows that the script does not write fails here.
@Suite struct ReadmeImagesTests {
    @Test func everyImageTheReadmeShowsIsOneTheScreenshotScriptWrites() throws {
        let readme = try String(contentsOfFile: Repository.root + "/README.md", encoding: .utf8)
        let shown = Set(readme.matches(of: /docs\/images\/([A-Za-z0-9._-]+\.png)/).map { String($0.output.1) })
        #expect(shown.count >= 8, "the README shows the demo's pictures: \(shown.sorted())")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Repository.root + "/scripts/screenshots", "--list"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let written = Set(String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init))

        #expect(
            shown.subtracting(written).isEmpty,
            "not written by scripts/screenshots: \(shown.subtracting(written).sorted())")
        for image in shown {
            #expect(
                FileManager.default.fileExists(atPath: Repository.root + "/docs/images/" + image),
                "docs/images/\(image) is missing: run scripts/screenshots")
        }
    }
}

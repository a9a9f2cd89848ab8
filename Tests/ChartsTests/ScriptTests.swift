import Foundation
import Testing

/// `Web/static/charts.js` must work under the portal's `script-src 'self'; style-src 'self'` policy
/// and must read the attributes the renderer writes.
@Test(.timeLimit(.minutes(10))) func chartScriptIsCSPSafeAndReadsTheRenderedAttributes() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Web/static/charts.js")
    let script = try String(contentsOf: url, encoding: .utf8)
    for forbidden in [
        "innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "setAttribute(\"style\"",
    ] {
        #expect(!script.contains(forbidden), "charts.js uses \(forbidden)")
    }
    for needed in ["svg.chart", "g.hover", "data-series", "data-points", "rect.plot-area", "textContent"] {
        #expect(script.contains(needed), "charts.js does not mention \(needed)")
    }
}

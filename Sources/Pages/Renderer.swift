import Foundation
import Mustache

/// Renders pages from the Mustache templates under `Web/templates`.
///
/// Mustache escapes every `{{value}}` as HTML; templates never use the unescaped
/// `{{{…}}}` form for data, so catalog text cannot inject markup.
public struct PageRenderer: Sendable {
    private let library: MustacheLibrary
    public let webRoot: String

    /// Loads every `*.mustache` under `webRoot/templates`.
    /// - Throws: ``WebRootError`` when the folder is missing or a template does not parse.
    public init(webRoot: String) async throws {
        let templates = (webRoot as NSString).appendingPathComponent("templates")
        guard FileManager.default.fileExists(atPath: (templates as NSString).appendingPathComponent("frame.mustache"))
        else {
            throw WebRootError(
                description:
                    "no portal templates in '\(templates)'; pass --web with the folder that holds templates/ and static/ (the repository's Web/)")
        }
        do {
            library = try await MustacheLibrary(directory: templates)
        } catch let error as MustacheLibrary.ParserError {
            throw WebRootError(description: "template \(error.filename) does not parse: \(error.error) at \(error.context.lineNumber):\(error.context.columnNumber)")
        }
        self.webRoot = webRoot
    }

    /// Renders `model` with the template `pages/<name>`.
    public func render(_ model: Any, template name: String) throws -> String {
        guard let html = library.render(model, withTemplate: name) else {
            throw WebRootError(description: "missing template '\(name).mustache'")
        }
        return html
    }

    public func hasTemplate(_ name: String) -> Bool { library.getTemplate(named: name) != nil }

    /// The folder of static assets (`Web/static`).
    public var staticDirectory: String { (webRoot as NSString).appendingPathComponent("static") }

    /// Finds `Web/` for a running binary: the given path, `./Web`, or next to the executable.
    public static func locateWebRoot(_ explicit: String?) -> String? {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        candidates.append(FileManager.default.currentDirectoryPath + "/Web")
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(executable.appendingPathComponent("Web").path)
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent("share/almanac/Web").path)
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/templates/frame.mustache") }
    }
}

public struct WebRootError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

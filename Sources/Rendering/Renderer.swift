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
                    "no portal templates in '\(templates)'; pass --web with the folder that holds templates/ and static/ (the repository's Web/)"
            )
        }
        do {
            library = try await MustacheLibrary(directory: templates)
        } catch let error as MustacheLibrary.ParserError {
            throw WebRootError(
                description:
                    "template \(error.filename) does not parse: \(error.error) at \(error.context.lineNumber):\(error.context.columnNumber)"
            )
        }
        self.webRoot = webRoot
    }

    /// Renders `model` with the template `pages/<name>`.
    public func render(_ model: Any, template name: String) throws -> String {
        guard let html = library.render(MustacheTree.convert(model), withTemplate: name) else {
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
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        candidates.append(executable.appendingPathComponent("Web").path)
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent("share/almanac/Web").path)
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/templates/frame.mustache") }
    }
}

public struct WebRootError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Turns a view model into dictionaries and arrays for Mustache, with every `nil` made
/// `false`.
///
/// NB: Mustache looks a missing name up in the enclosing contexts, and swift-mustache treats
/// a `nil` optional as missing; so a panel without a description would show its report's
/// description. A `false` is found, and is falsy, which stops the lookup where it belongs.
enum MustacheTree {
    static func convert(_ value: Any) -> Any {
        switch value {
        case is String, is Bool, is Int, is Double, is Int64, is [String], is [[String]]:
            // Text lists need no conversion: reflecting each element is the slow part.
            return value
        default:
            break
        }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            guard let wrapped = mirror.children.first?.value else { return false }
            return convert(wrapped)
        case .collection, .set:
            return mirror.children.map { convert($0.value) }
        case .dictionary:
            var result: [String: Any] = [:]
            for child in mirror.children {
                let pair = Mirror(reflecting: child.value).children.map(\.value)
                if pair.count == 2, let key = pair[0] as? String { result[key] = convert(pair[1]) }
            }
            return result
        case .struct, .class:
            var result: [String: Any] = [:]
            for child in mirror.children {
                if let label = child.label { result[label] = convert(child.value) }
            }
            return result
        default:
            return value
        }
    }
}

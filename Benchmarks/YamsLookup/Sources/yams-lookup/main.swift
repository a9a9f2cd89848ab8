// Parses every YAML file under DIR with Yams.compose and then looks up every key of every
// mapping by string (`mapping[key]`), as Almanac's MappingReader.node(_:) does, on one thread.
// The mode picks the Resolver and Parser.Encoding passed to compose:
//   default       compose(yaml:)                     — what Sources/Catalog/YAMLReader.swift calls
//   default-utf8  compose(yaml:, .default, .default, .utf8)  — skips the per-call environment read
//   basic-utf8    compose(yaml:, .basic, .default, .utf8)    — no regex tag resolution at all
// Prints one line: mode, files, lookups, seconds (parse + lookups; reading files excluded).
import Foundation
import Yams

let arguments = CommandLine.arguments
guard arguments.count == 3, ["default", "default-utf8", "basic-utf8"].contains(arguments[2]) else {
    FileHandle.standardError.write("usage: yams-lookup DIR default|default-utf8|basic-utf8\n".data(using: .utf8)!)
    exit(2)
}
let directory = arguments[1]
let mode = arguments[2]

var texts: [String] = []
let enumerator = FileManager.default.enumerator(atPath: directory)!
var paths: [String] = []
while let relative = enumerator.nextObject() as? String {
    if relative.hasSuffix(".yaml") || relative.hasSuffix(".yml") { paths.append(relative) }
}
for relative in paths.sorted() {
    texts.append(try String(contentsOfFile: directory + "/" + relative, encoding: .utf8))
}

func lookUpEveryKey(_ node: Node, _ count: inout Int) {
    if let mapping = node.mapping {
        for (key, value) in mapping {
            if let name = key.string, mapping[name] != nil { count += 1 }
            lookUpEveryKey(value, &count)
        }
    } else if let sequence = node.sequence {
        for item in sequence { lookUpEveryKey(item, &count) }
    }
}

let started = ContinuousClock.now
var lookups = 0
for text in texts {
    let node: Node?
    switch mode {
    case "default": node = try Yams.compose(yaml: text)
    case "default-utf8": node = try Yams.compose(yaml: text, .default, .default, .utf8)
    default: node = try Yams.compose(yaml: text, .basic, .default, .utf8)
    }
    guard let node else { fatalError("empty document") }
    lookUpEveryKey(node, &lookups)
}
let elapsed = ContinuousClock.now - started
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print("\(mode) \(texts.count) \(lookups) \(String(format: "%.4f", seconds))")

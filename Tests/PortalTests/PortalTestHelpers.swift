import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Portal
import Testing

/// A response body as text.
func text(_ response: TestResponse) -> String { String(buffer: response.body) }

/// A JSON response body as a dictionary.
func json(_ response: TestResponse) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))
    return try #require(object as? [String: Any])
}

/// Identity headers as the SSO proxy would send them.
func identity(_ user: String, groups: [String] = []) -> HTTPFields {
    var fields = HTTPFields()
    fields[HTTPField.Name("X-Forwarded-User")!] = user
    fields[HTTPField.Name("X-Forwarded-Groups")!] = groups.joined(separator: ", ")
    return fields
}

extension TestClientProtocol {
    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }
}

/// Polls until `condition` holds or `timeout` passes; for the catalog watcher, which looks every 200 ms.
func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

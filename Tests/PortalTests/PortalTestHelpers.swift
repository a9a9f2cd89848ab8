import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Portal
import Testing

/// A response body as text.
func text(_ response: PortalResponse) -> String { response.text }

/// A JSON response body as a dictionary.
func json(_ response: PortalResponse) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(response.text.utf8))
    return try #require(object as? [String: Any])
}

/// Identity headers as the SSO proxy would send them.
func identity(_ user: String, groups: [String] = []) -> HTTPFields {
    var fields = HTTPFields()
    fields[HTTPField.Name("X-Forwarded-User")!] = user
    fields[HTTPField.Name("X-Forwarded-Groups")!] = groups.joined(separator: ", ")
    return fields
}

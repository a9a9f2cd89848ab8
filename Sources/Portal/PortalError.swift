import AlmanacCore
import Catalog
import Foundation
public import HTTPTypes
import Hummingbird
import Logging

/// Errors the portal shows to people, each with a status, a message and what to do.
///
/// Domain modules keep their own error types; ``init(mapping:)`` is where they become HTTP.
public struct PortalError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var title: String
    public var message: String
    public var hint: String?
    /// The request parameter at fault, when one is.
    public var parameter: String?

    public init(
        status: HTTPResponse.Status, title: String, message: String, hint: String? = nil, parameter: String? = nil
    ) {
        self.status = status
        self.title = title
        self.message = message
        self.hint = hint
        self.parameter = parameter
    }

    static func notFound(_ what: String, _ id: String, hint: String? = nil) -> PortalError {
        // NB: the same answer whether the object does not exist or the viewer may not see it,
        // so that a 404 does not confirm that a restricted object exists.
        PortalError(
            status: .notFound, title: "Not found", message: "There is no \(what) '\(id)' that you can see.",
            hint: hint ?? "Browse the catalog or ask the owning team for access.")
    }

    static let notSignedIn = PortalError(
        status: .unauthorized, title: "Sign in required",
        message: "This portal needs to know who you are, and this request carries no identity it can trust.",
        hint: "Open the portal through the company's single sign-on address.")

    static let adminOnly = PortalError(
        status: .forbidden, title: "Admins only",
        message: "This page is for the catalog's administrators.",
        hint: "Ask a member of an admin group listed in almanac.yaml (settings.admin_groups).")

    static func badParameter(_ name: String, _ message: String, hint: String? = nil) -> PortalError {
        PortalError(
            status: .badRequest, title: "Bad request", message: "Parameter '\(name)': \(message)", hint: hint,
            parameter: name)
    }
}

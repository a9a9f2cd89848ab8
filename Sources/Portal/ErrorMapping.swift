import AlmanacCore
import Catalog
import Foundation
import HTTPTypes
import Lifecycle
import Proxy
import Warehouse

extension PortalError {
    /// The one place where the domain modules' errors become HTTP: a status, a message a person
    /// can act on and a hint. ``EdgeMiddleware`` maps every error a route throws through it, for
    /// pages and the API alike, so routes throw domain errors as they come and convert none.
    ///
    /// `nil` for errors with no meaning to the reader (a state store or template failure): those
    /// become the 500 page with the request id, and the log gets the details.
    ///
    /// Messages never repeat a domain error's text where it could name a host, a table or a query:
    /// a warehouse or generator failure says what happened, not where.
    init?(mapping error: any Error) {
        switch error {
        case let error as PortalError:
            self = error
        case let error as ParameterError:
            self = .badParameter(error.parameter, error.userMessage, hint: error.hint)
        case let error as LifecycleError:
            switch error {
            case .notFound(let text):
                // The same answer whether the object does not exist or the actor may not see it.
                self.init(
                    status: .notFound, title: "Not found", message: "\(text.capitalizedFirst) that you can see.",
                    hint: "Browse the catalog or ask the owning team for access.")
            case .forbidden(let message):
                self.init(status: .forbidden, title: "Not allowed", message: message)
            case .conflict(let message):
                self.init(status: .conflict, title: "Not possible now", message: message)
            case .invalid(let field, let message):
                self = .badParameter(field, message)
            }
        case let error as APITokenError:
            switch error {
            case .invalid(let field, let message):
                self = .badParameter(field, message)
            case .invalidToken:
                self.init(
                    status: .unauthorized, title: "Invalid API token",
                    message: "The API token is unknown, expired or revoked.",
                    hint: "Ask an admin for a new token (Admin → API tokens).")
            case .rateLimited(let wait):
                self.init(
                    status: .tooManyRequests, title: "Too many attempts",
                    message:
                        "Too many failed API token attempts from this address; try again in \(wait.components.seconds + 1) seconds."
                )
            case .unavailable:
                self.init(
                    status: .serviceUnavailable, title: "Tokens unavailable",
                    message: "API tokens cannot be checked right now.", hint: "Try again in a moment.")
            }
        case let error as GeneratorClientError:
            switch error {
            case .parameter(let name, let message, let hint):
                self = .badParameter(name, message, hint: hint)
            case .notFound:
                // The portal knows the report or template (it checked): the generators do not yet.
                self.init(
                    status: .serviceUnavailable, title: "Generator unavailable",
                    message: "The generators do not know this dashboard yet.",
                    hint: "They may run an older catalog; try again once they have reloaded it.")
            case .unavailable(let text):
                // "… did not answer within 1.0 seconds": the wait, not who was asked.
                let reason =
                    text.range(of: "did not answer within ").map {
                        "no generator answered within \(text[$0.upperBound...].prefix { $0 != ";" && $0 != "," })"
                    }
                    ?? "no generator could be reached"
                self.init(
                    status: .serviceUnavailable, title: "Generator unavailable",
                    message: "The dashboard could not be generated: \(reason).",
                    hint: "The generators may be restarting or overloaded; try again in a minute.")
            }
        case let error as WarehouseError where error.kind == .timeout:
            self.init(
                status: .gatewayTimeout, title: "The warehouse took too long",
                message: "The warehouse did not answer in time (\(error.userMessage)).",
                hint: "Try a shorter range or fewer values; the nightly dashboards are not affected.")
        case let error as WarehouseError where error.kind == .unreachable:
            self.init(
                status: .serviceUnavailable, title: "Warehouse unavailable",
                message: "The warehouse cannot be reached right now.", hint: "Try again in a few minutes.")
        case is DeadlineExceeded:
            self.init(
                status: .gatewayTimeout, title: "Took too long", message: "The answer took too long and was stopped.",
                hint: "Try again in a moment.")
        default:
            return nil
        }
    }
}

extension String {
    /// "there is no report 'x'" → "There is no report 'x'".
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

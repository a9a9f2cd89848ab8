import AlmanacCore
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Lifecycle
import Logging
import Pages
import Proxy
import Testing
import Warehouse

@testable import Portal

/// Domain errors become HTTP in one place, with one shape: the status a caller can act on, a
/// message that names the parameter at fault, and never a host, table or query.
@Suite struct ErrorMappingTests {
    let logger = Logger(label: "error-mapping-test")

    func model(_ error: any Error, path: String = "/api/x") -> (status: Int, error: String, parameter: String?) {
        let model = EdgeMiddleware.errorModel(error, path: path, requestID: "req-1", logger: logger)
        return (model.status, model.error, model.parameter)
    }

    @Test func eachDomainErrorHasItsStatus() {
        let cases: [(any Error, Int)] = [
            (ParameterError(parameter: "domain", "no customer 'x'"), 400),
            (LifecycleError.notFound("there is no report 'x'"), 404),
            (LifecycleError.forbidden("only the owning team"), 403),
            (LifecycleError.conflict("already retired"), 409),
            (LifecycleError.invalid(field: "reason", "give a reason"), 400),
            (APITokenError.invalid("name", "give the token a name"), 400),
            (APITokenError.invalidToken, 401),
            (APITokenError.rateLimited(retryAfter: .seconds(30)), 429),
            (APITokenError.unavailable, 503),
            (GeneratorClientError.parameter(name: "domain", message: "unknown", hint: nil), 400),
            (GeneratorClientError.notFound("template 'customer'"), 503),
            (GeneratorClientError.unavailable("http://10.0.0.7:8090 is unreachable (refused)"), 503),
            (WarehouseError(.timeout, "the query took longer than 5.0 seconds and was stopped"), 504),
            (WarehouseError(.unreachable, "cannot connect to db.internal:5432"), 503),
            (DeadlineExceeded(), 504),
            (HTTPError(.notFound), 404),
            (PortalError.adminOnly, 403),
        ]
        for (error, status) in cases {
            #expect(model(error).status == status, "\(error)")
        }
    }

    @Test func aRefusedParameterIsNamedAndNothingInternalIsRepeated() {
        let refused = model(ParameterError(parameter: "domain", "no customer 'x'", hint: "pick one from search"))
        #expect(refused.parameter == "domain" && refused.error == "Parameter 'domain': no customer 'x'")
        let lifecycle = model(LifecycleError.notFound("there is no report 'x'"))
        #expect(lifecycle.error == "There is no report 'x' that you can see.")
        for error: any Error in [
            WarehouseError(.unreachable, "cannot connect to db.internal:5432"),
            GeneratorClientError.unavailable("http://10.0.0.7:8090 is unreachable (refused)"),
            GeneratorClientError.unavailable(
                "http://10.0.0.7:8090 did not answer within 1.0 seconds; http://10.0.0.8 refused"),
        ] {
            let text = model(error).error
            #expect(!text.contains("10.0.0") && !text.contains("db.internal"), "\(text)")
        }
        #expect(
            model(GeneratorClientError.unavailable("http://10.0.0.7:8090 did not answer within 1.0 seconds")).error
                == "The dashboard could not be generated: no generator answered within 1.0 seconds.")
    }

    @Test func anUnknownErrorIsA500ThatNamesOnlyTheRequestID() {
        struct StoreBroke: Error { var detail = "disk I/O error at /var/lib/almanac/state.sqlite" }
        let unknown = model(StoreBroke())
        #expect(unknown.status == 500 && unknown.error.contains("req-1") && !unknown.error.contains("state.sqlite"))
    }

    /// The generator's errors carry `message` too, as generators did before the one shape, so a
    /// portal not yet upgraded still reads a refused parameter's reason.
    @Test func theGeneratorsShapeStillSaysWhatOlderPortalsRead() throws {
        let model = EdgeMiddleware.errorModel(
            ParameterError(parameter: "domain", "no customer has domain 'x'"), path: "/templates/customer",
            requestID: "generator", logger: logger)
        let data = try JSONEncoder().encode(GeneratorError(model: model))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["parameter"] as? String == "domain" && object["status"] as? Int == 400)
        #expect(object["message"] as? String == "no customer has domain 'x'")
        #expect(object["error"] as? String == "Parameter 'domain': no customer has domain 'x'")
    }
}

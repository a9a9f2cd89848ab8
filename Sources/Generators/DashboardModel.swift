import AlmanacCore
public import Foundation
import Warehouse

/// What a generated dashboard shows; written as `dashboard.json` beside the rendered HTML
/// and served as the report's data API.
public struct DashboardModel: Codable, Sendable, Hashable {
    public struct Freshness: Codable, Sendable, Hashable {
        /// The source's id (absent in artifacts written before it was recorded).
        public var sourceID: String?
        public var source: String
        public var table: String
        public var newest: String?
        public var expectedWithin: String
        public var stale: Bool
        public var note: String
    }
    public struct Table: Codable, Sendable, Hashable {
        public var columns: [String]
        public var rows: [[String]]

        /// The table as escaped HTML rows: written here rather than by the template engine,
        /// which converts and looks up every cell dynamically (a year of weeks is ~1,000 cells).
        public var html: String {
            var out = "<thead><tr>"
            out.reserveCapacity(64 * (rows.count + 1) * max(1, columns.count))
            for column in columns { out += "<th scope=\"col\">" + Markup.escape(column) + "</th>" }
            out += "</tr></thead><tbody>"
            for row in rows {
                out += "<tr>"
                for cell in row { out += "<td>" + Markup.escape(cell) + "</td>" }
                out += "</tr>"
            }
            return out + "</tbody>"
        }
    }
    /// One label and value of a `facts` panel.
    public struct Fact: Codable, Sendable, Hashable {
        public var label: String
        public var value: String
    }
    public struct Panel: Codable, Sendable, Hashable {
        public var index: Int
        public var title: String
        public var description: String?
        public var chart: String
        public var metricID: String
        /// The metric's name, or for `facts` and `records` panels the source's.
        public var metricName: String
        /// The metric's glossary page; `nil` for panels that read a source's rows.
        public var metricURL: String?
        /// The inline SVG chart; absent for number and table panels and for failed panels.
        public var svg: String?
        public var svgFile: String?
        public var csvFile: String?
        public var table: Table?
        public var showTable: Bool
        /// Number panels: the latest period's value and its change on the period before.
        public var headline: String?
        public var headlineChange: String?
        public var notes: [String]
        /// When the panel could not be computed: what went wrong.
        public var error: String?
        /// `facts` panels: the row's columns as label and value.
        public var facts: [Fact] = []
        /// A finding the reader must not miss (an experiment's sample-ratio mismatch).
        public var alert: String? = nil
        /// ``table`` as escaped HTML, set just before the page fragment is rendered.
        public var tableHTML: String? = nil
        /// When the last period is not over: how much of it the figures cover ("2 of 7 days").
        public var partial: String? = nil
        /// The panel's data at full precision (what its CSV holds), for the data API.
        public var data: DataTable? = nil
    }
    public var reportID: String
    public var title: String
    public var generatedAt: Date
    public var generatedAtText: String
    public var asOf: String
    public var rangeText: String
    public var grain: String
    public var freshness: [Freshness]
    public var anyStale: Bool
    public var panels: [Panel]
    /// Where the panels' downloads are (`/reports/{id}/panels/`, or a template's) and the
    /// query string that names the render they belong to (a template's parameters).
    public var downloadBase: String? = nil
    public var downloadQuery: String? = nil
}

/// A panel's data as its CSV holds it: numbers at full precision, text as text.
public struct DataTable: Codable, Sendable, Hashable {
    /// One value: a number, text, or nothing.
    public enum Cell: Codable, Sendable, Hashable {
        case number(Double)
        case text(String)
        case empty

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .empty
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else {
                self = .text(try container.decode(String.self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .number(let number): try container.encode(number)
            case .text(let text): try container.encode(text)
            case .empty: try container.encodeNil()
            }
        }
    }
    public var columns: [String]
    public var rows: [[Cell]]

    /// The table a CSV (header row first) holds; `nil` when it is not CSV.
    public init?(csv: String) {
        guard let records = try? CSV.records(csv, file: "panel"), let header = records.first else { return nil }
        columns = header.fields
        rows = records.dropFirst().map { record in
            record.fields.map { field in
                if field.isEmpty { return .empty }
                if let number = Double(field), number.isFinite { return .number(number) }
                return .text(field)
            }
        }
    }
}

extension DashboardModel {
    /// The model as `dashboard.json` holds it: ISO 8601 dates, sorted keys.
    public func json() throws -> Data { try JSONEncoder.dashboard.encode(self) }

    /// Reads a `dashboard.json`.
    public init(json: Data) throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        self = try decoder.decode(DashboardModel.self, from: json)
    }
}

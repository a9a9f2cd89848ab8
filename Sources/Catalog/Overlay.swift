public import AlmanacCore
import Foundation

/// What lifecycle actions taken in the portal or the CLI change on top of the catalog's
/// files: a status with its reason and replacement, an owner, a metric's certification.
///
/// The state store keeps the actions as append-only events; the portal folds them into an
/// overlay and serves `catalog.applying(overlay)`, so pages, search and nightly generation
/// all see one effective catalog. `almanac lifecycle export` writes the overlay back into the
/// files, which keeps git the source of truth.
public struct CatalogOverlay: Sendable, Hashable {
    /// A status set by an action, with why and what to use instead.
    public struct StatusChange: Sendable, Hashable, Codable {
        public var status: ReportStatus
        public var reason: String?
        /// The id of the report (or metric) to use instead.
        public var replacement: String?

        public init(status: ReportStatus, reason: String? = nil, replacement: String? = nil) {
            self.status = status
            self.reason = reason
            self.replacement = replacement
        }
    }

    /// The overlay of one object; `nil` fields keep what the file declares.
    public struct Entry: Sendable, Hashable, Codable {
        public var status: StatusChange?
        public var owner: TeamID?
        public var certified: Bool?

        public init(status: StatusChange? = nil, owner: TeamID? = nil, certified: Bool? = nil) {
            self.status = status
            self.owner = owner
            self.certified = certified
        }

        public var isEmpty: Bool { status == nil && owner == nil && certified == nil }
    }

    public var entries: [ItemKey: Entry]

    public init(entries: [ItemKey: Entry] = [:]) {
        self.entries = entries.filter { !$0.value.isEmpty }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// A short digest that changes whenever any entry does (caches key on it).
    public var revision: String {
        guard !entries.isEmpty else { return "" }
        var text = ""
        for (key, entry) in entries.sorted(by: { $0.key < $1.key }) {
            text += "\(key)|\(entry.status?.status.rawValue ?? "")|\(entry.status?.reason ?? "")|"
            text += "\(entry.status?.replacement ?? "")|\(entry.owner?.rawValue ?? "")|"
            text += "\(entry.certified.map { $0 ? "1" : "0" } ?? "")\n"
        }
        return String(Digest.fnv1a(Data(text.utf8)).prefix(12))
    }
}

extension Catalog {
    /// The catalog as lifecycle actions left it: statuses, owners and certifications from
    /// `overlay` replace what the files declare. Entries for objects the catalog no longer
    /// holds, or owners that are no longer teams, are ignored.
    public func applying(_ overlay: CatalogOverlay) -> Catalog {
        guard !overlay.isEmpty else { return self }
        var result = self
        func owner(_ entry: CatalogOverlay.Entry) -> TeamID? {
            entry.owner.flatMap { team($0) != nil ? $0 : nil }
        }
        result.reports = reports.map { report in
            guard let entry = overlay.entries[ItemKey(.report, report.id.rawValue)] else { return report }
            var report = report
            if let change = entry.status {
                report.status = change.status
                report.statusReason = change.reason
                report.replacedBy = change.replacement.map { ReportID($0) }.flatMap {
                    self.report($0) != nil ? $0 : nil
                }
            }
            report.owner = owner(entry) ?? report.owner
            return report
        }
        result.metrics = metrics.map { metric in
            guard let entry = overlay.entries[ItemKey(.metric, metric.id.rawValue)] else { return metric }
            var metric = metric
            if let change = entry.status {
                metric.status = change.status
                metric.statusReason = change.reason
                metric.replacedBy = change.replacement.map { MetricID($0) }.flatMap {
                    self.metric($0) != nil ? $0 : nil
                }
            }
            metric.owner = owner(entry) ?? metric.owner
            metric.certified = entry.certified ?? metric.certified
            return metric
        }
        result.templates = templates.map { template in
            guard let entry = overlay.entries[ItemKey(.template, template.id.rawValue)] else { return template }
            var template = template
            template.owner = owner(entry) ?? template.owner
            return template
        }
        result.overlayRevision = overlay.revision
        return result
    }
}

import Foundation

enum TimeZoneLookup {
    static let identifiers = Set(TimeZone.knownTimeZoneIdentifiers)
}

// swift-tools-version:5.9
// A stand-alone micro-benchmark for Benchmarks/catalog-profile.sh; not part of the Almanac package.
// Yams is pinned to the version in the repository's Package.resolved.
import PackageDescription

let package = Package(
    name: "YamsLookup",
    dependencies: [.package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2")],
    targets: [.executableTarget(name: "yams-lookup", dependencies: ["Yams"], path: "Sources/yams-lookup")]
)

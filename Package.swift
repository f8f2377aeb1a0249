// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Stint",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "stint", targets: ["stint"]),
        .library(name: "PhaseTracking", targets: ["PhaseTracking"]),
        .library(name: "Instances", targets: ["Instances"]),
    ],
    targets: [
        .target(name: "PhaseTracking"),
        .systemLibrary(name: "CSystemCalls"),
        .target(name: "Hypervisor", dependencies: ["CSystemCalls"]),
        .target(name: "GuestImage"),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "Instances", dependencies: ["PhaseTracking", "Hypervisor", "GuestImage", "CSQLite", "CSystemCalls"]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD"]),
        .target(name: "StintAPI", dependencies: ["Instances", "HTTPServer", "PhaseTracking"]),
        .executableTarget(
            name: "stint",
            dependencies: ["Instances", "PhaseTracking", "Hypervisor", "GuestImage", "StintAPI", "HTTPServer"]),
        .executableTarget(
            name: "DurableWriteBenchmark", dependencies: ["Instances", "PhaseTracking"],
            path: "Benchmarks/DurableWriteBenchmark"),
        .target(name: "StintTestSupport", dependencies: ["Hypervisor"], path: "Tests/StintTestSupport"),
        .testTarget(name: "PhaseTrackingTests", dependencies: ["PhaseTracking"]),
        .testTarget(name: "HypervisorTests", dependencies: ["Hypervisor", "GuestImage"]),
        .testTarget(name: "GuestImageTests", dependencies: ["GuestImage"]),
        .testTarget(name: "InstancesTests", dependencies: ["Instances", "PhaseTracking", "Hypervisor", "GuestImage"]),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer"]),
        .testTarget(
            name: "StintAPITests",
            dependencies: ["StintAPI", "Instances", "HTTPServer", "PhaseTracking", "StintTestSupport"]),
        .testTarget(
            name: "LedgerTests",
            dependencies: ["Instances", "PhaseTracking", "StintAPI", "HTTPServer", "StintTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["stint", "Instances", "PhaseTracking", "StintTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

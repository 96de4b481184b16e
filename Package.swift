// swift-tools-version: 6.1
import PackageDescription

/// NETRA: a self-hosted face-identity service.
///
/// Layers, dependencies pointing one way (README, "Modules"):
/// - bottom: `NetraImaging` (decoding), `NetraDescriptor` (the 128-d value type),
///   `NetraVision` (inference), `NetraStore` (persistence, no vision);
/// - `NetraIdentity`: the use cases (enroll, identify, verify, subjects) and their wire shapes;
/// - surfaces: `NetraService` (HTTP), `netra` (CLI), with the offline `NetraTools` beside them.
/// C libraries come in through small system-library and shim targets (`C*`).
/// The modules whose loops do the numeric work (pixels, pyramids, activations, the 1:N scan)
/// are optimised in debug builds too: the test suite builds once, in debug, and would otherwise
/// spend most of its time in unoptimised loops.
let optimisedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "netra",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "netra", targets: ["netra"]),
        .library(name: "NetraImaging", targets: ["NetraImaging"]),
        .library(name: "NetraVision", targets: ["NetraVision"]),
        .library(name: "NetraStore", targets: ["NetraStore"]),
        .library(name: "NetraIdentity", targets: ["NetraIdentity"]),
        .library(name: "NetraService", targets: ["NetraService"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // MARK: C libraries
        .target(
            name: "CImageCodecs",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]
        ),
        .systemLibrary(name: "CLibcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),

        // MARK: Bottom: imaging, inference, persistence
        .target(name: "NetraImaging", dependencies: ["CImageCodecs"], swiftSettings: optimisedInDebug),
        .target(name: "NetraDescriptor", swiftSettings: optimisedInDebug),
        .target(
            name: "NetraVision",
            dependencies: ["NetraImaging", "NetraDescriptor", "CLibcrypto", "CBLAS", "CDNNL", .product(name: "Logging", package: "swift-log")],
            swiftSettings: optimisedInDebug
        ),
        .target(
            name: "NetraStore",
            dependencies: [
                "NetraDescriptor", "CLibcrypto", "CBLAS", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            resources: [.copy("Migrations"), .copy("PostgresMigrations")],
            swiftSettings: optimisedInDebug
        ),

        // MARK: Use cases
        .target(
            name: "NetraIdentity",
            dependencies: [
                "NetraImaging", "NetraDescriptor", "NetraVision", "NetraStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // MARK: Surfaces
        .target(
            name: "NetraService",
            dependencies: [
                "NetraImaging", "NetraDescriptor", "NetraVision", "NetraStore", "NetraIdentity",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources")]
        ),
        .target(
            name: "NetraTools",
            dependencies: ["NetraImaging", "NetraDescriptor", "NetraVision", "NetraStore", "CBLAS", .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Resources")]
        ),
        .executableTarget(
            name: "netra",
            dependencies: [
                "NetraImaging",
                "NetraDescriptor",
                "NetraVision",
                "NetraStore",
                "NetraIdentity",
                "NetraTools",
                "NetraService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // MARK: Tests (mirroring the modules; tiers are tags, see docs/testing.md)
        .target(
            name: "NetraTestSupport",
            dependencies: ["CLibcrypto", "NetraImaging", "NetraDescriptor", "NetraVision", "NetraStore", "NetraIdentity", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "PostgresNIO", package: "postgres-nio")],
            path: "Tests/NetraTestSupport"
        ),
        .testTarget(
            name: "NetraImagingTests",
            dependencies: ["NetraImaging", "NetraTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "NetraVisionTests", dependencies: ["NetraVision", "NetraDescriptor", "NetraTestSupport"]),
        .testTarget(
            name: "NetraStoreTests",
            dependencies: ["NetraStore", "NetraDescriptor", "NetraTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "NetraIdentityTests",
            dependencies: ["NetraIdentity", "NetraVision", "NetraStore", "NetraDescriptor", "NetraTestSupport"]
        ),
        .testTarget(name: "NetraToolsTests", dependencies: ["NetraTools", "NetraVision", "NetraDescriptor", "NetraTestSupport"]),
        .testTarget(
            name: "NetraServiceTests",
            dependencies: [
                "NetraService", "NetraIdentity", "NetraStore", "NetraVision", "NetraDescriptor", "NetraTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "NetraCLITests",
            dependencies: ["NetraIdentity", "NetraVision", "NetraStore", "NetraDescriptor", "NetraTestSupport"]
        ),
        .testTarget(name: "DeploymentTests", dependencies: ["NetraTestSupport"]),
    ]
)

// MARK: Fuzzing (docs/fuzzing.md; scripts/fuzz builds it into .build-fuzz)
// Only when the manifest is evaluated with NETRA_FUZZ=1: libFuzzer executables for NETRA's own
// parsers, and coverage instrumentation plus AddressSanitizer (and testability, for the harnesses'
// `@testable import`) for the modules they parse with. Without NETRA_FUZZ the package is exactly
// the one above.
if Context.environment["NETRA_FUZZ"] == "1" {
    let instrumented: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address", "-enable-testing"])]
    for target in package.targets where ["NetraImaging", "NetraService"].contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + instrumented
    }
    func fuzzTarget(_ name: String, dependencies: [Target.Dependency]) -> Target {
        .executableTarget(
            name: name,
            dependencies: dependencies,
            path: "fuzz/swift/\(name)",
            swiftSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-parse-as-library"])],
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
        )
    }
    package.targets += [
        fuzzTarget("NetraFuzzImageHeaders", dependencies: ["NetraImaging"]),
        fuzzTarget("NetraFuzzRequestForms", dependencies: ["NetraService", .product(name: "NIOCore", package: "swift-nio")]),
    ]
}

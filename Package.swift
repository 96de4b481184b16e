// swift-tools-version: 6.1
import PackageDescription

/// NETRA: a self-hosted face-identity service.
///
/// Layers, dependencies pointing one way:
/// `NetraImaging` -> `NetraVision` -> `NetraStore` -> `NetraService` -> `netra` (CLI).
/// C libraries come in through small system-library and shim targets (`C*`).
let package = Package(
    name: "netra",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "netra", targets: ["netra"]),
        .library(name: "NetraImaging", targets: ["NetraImaging"]),
        .library(name: "NetraVision", targets: ["NetraVision"]),
        .library(name: "NetraStore", targets: ["NetraStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
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

        // MARK: Layers
        .target(name: "NetraImaging", dependencies: ["CImageCodecs"]),
        .target(
            name: "NetraVision",
            dependencies: ["NetraImaging", "CLibcrypto", "CBLAS", "CDNNL", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "NetraStore",
            dependencies: ["NetraVision", "CLibcrypto", "CBLAS", .product(name: "GRDB", package: "GRDB.swift")],
            resources: [.copy("Migrations")]
        ),
        .executableTarget(
            name: "netra",
            dependencies: [
                "NetraImaging",
                "NetraVision",
                "NetraStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // MARK: Tests
        .target(name: "NetraTestSupport", dependencies: ["CLibcrypto"], path: "Tests/NetraTestSupport"),
        .testTarget(
            name: "NetraImagingTests",
            dependencies: ["NetraImaging", "NetraTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "NetraVisionTests", dependencies: ["NetraVision", "NetraTestSupport"]),
        .testTarget(
            name: "NetraStoreTests",
            dependencies: ["NetraStore", "NetraTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "NetraCLITests", dependencies: ["NetraStore", "NetraTestSupport"]),
    ]
)

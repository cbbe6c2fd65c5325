// swift-tools-version: 6.2
import Foundation
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "balancerd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "balancerd", targets: ["balancerd"]),
        .library(name: "Lonc", targets: ["Lonc"]),
        .library(name: "Health", targets: ["Health"]),
        .library(name: "Balancer", targets: ["Balancer"]),
        .library(name: "BalancerdCore", targets: ["BalancerdCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(
            url: "https://github.com/apple/swift-configuration.git", from: "1.4.0",
            traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Thin system-library targets: nothing but a module map and a header.
        .systemLibrary(
            name: "CMicroHTTPD", pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        // The one C file: OpenSSL macros and libmicrohttpd variadic calls, as functions Swift can call.
        .target(name: "CShims", dependencies: ["COpenSSL", "CMicroHTTPD"]),

        .target(
            name: "Lonc",
            dependencies: [
                "COpenSSL", "CShims",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "Health",
            dependencies: [
                "Lonc",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(name: "Balancer", swiftSettings: swiftSettings),
        // The balancing simulator (`balancerd simulate`, docs/BALANCING.md): the Balancer
        // module itself in virtual time, against baselines; pure, no I/O.
        .target(
            name: "Simulation",
            dependencies: ["Balancer", "Health", "Lonc", .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: swiftSettings),
        // The daemon's parts (config, HTTP endpoint, control socket, services) as a library
        // with a deliberate public surface; `balancerd` only parses commands and calls into it.
        .target(
            name: "BalancerdCore",
            dependencies: [
                "Lonc", "Health", "Balancer", "Simulation", "CMicroHTTPD", "CShims",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            resources: [
                .embedInCode("Web/style.css"), .embedInCode("Web/app.js"),
                .embedInCode("Web/openapi.yaml"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "balancerd",
            dependencies: [
                "BalancerdCore", "Lonc", "Simulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),

        // Benchmarks: `swift run -c release DecisionBenchmark` / `LinkBenchmark` (see BENCHMARKS.md).
        .executableTarget(name: "DecisionBenchmark", dependencies: ["Balancer"], path: "Benchmarks/DecisionBenchmark", swiftSettings: swiftSettings),
        .executableTarget(
            name: "LinkBenchmark",
            dependencies: ["Lonc", .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/LinkBenchmark", swiftSettings: swiftSettings),
        .executableTarget(
            name: "AgentSwarm",
            dependencies: ["Lonc", "Health", .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/AgentSwarm", swiftSettings: swiftSettings),

        .target(
            name: "TestSupport",
            dependencies: ["Lonc", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings),
        // The coverage-guided fuzz targets (RELIABILITY.md, "Fuzzing"): built normally they
        // replay their corpora in `make test`; `make fuzz` links them to libFuzzer (below).
        .target(
            name: "FuzzTargets",
            dependencies: [
                "Lonc", "BalancerdCore", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/Targets", swiftSettings: swiftSettings),
        .testTarget(name: "FuzzCorpusTests", dependencies: ["FuzzTargets"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LoncTests",
            dependencies: ["Lonc", "TestSupport", "FuzzTargets", .product(name: "NIOEmbedded", package: "swift-nio")],
            swiftSettings: swiftSettings),
        .testTarget(name: "HealthTests", dependencies: ["Health", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "BalancerTests", dependencies: ["Balancer"], swiftSettings: swiftSettings),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Balancer"], swiftSettings: swiftSettings),
        // End-to-end tests start the `balancerd` executable as a process: it is a dependency so it is built first.
        .testTarget(
            name: "BalancerdCoreTests",
            dependencies: [
                "BalancerdCore", "balancerd", "TestSupport", "FuzzTargets",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),
    ]
)

// `make fuzz` only (BALANCERD_FUZZ=1, its own build folder, -sanitize=fuzzer,address): the
// libFuzzer binary, which the normal build never compiles.
if ProcessInfo.processInfo.environment["BALANCERD_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(name: "balancerd-fuzz", dependencies: ["FuzzTargets", "TestSupport"], path: "Fuzz/Entry", swiftSettings: swiftSettings))
}

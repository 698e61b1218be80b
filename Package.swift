// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "dx-pulse",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dx-ingest", targets: ["dx-ingest"]),
        .executable(name: "dx-indicators", targets: ["dx-indicators"]),
        .executable(name: "dx-alerts", targets: ["dx-alerts"]),
        .executable(name: "dx", targets: ["dx"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
    ],
    targets: [
        // Shared modules: services depend on these, never on each other.
        .target(name: "DXModel", path: "Shared/Model"),
        .systemLibrary(name: "CRdKafka", path: "Shared/CRdKafka", pkgConfig: "rdkafka",
                       providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CMalloc", path: "Shared/CMalloc"),
        .target(
            name: "DXKafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Kafka"
        ),
        .target(
            name: "DXStore",
            dependencies: [
                "DXModel", "DXKafka",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Store"
        ),
        .target(
            name: "DXRuntime",
            dependencies: [
                "DXModel", "DXKafka", "DXStore", "CMalloc",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Shared/Runtime"
        ),

        // Services: a library with the behaviour (tested in-process) and a thin executable.
        .target(
            name: "Ingestion",
            dependencies: [
                "DXModel", "DXKafka", "DXStore", "DXRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/Ingestion",
            exclude: ["Main"]
        ),
        .executableTarget(name: "dx-ingest", dependencies: ["Ingestion", "DXRuntime"], path: "Services/Ingestion/Main"),
        .target(
            name: "Indicators",
            dependencies: ["DXModel", "DXKafka", "DXStore", "DXRuntime"],
            path: "Services/Indicators",
            exclude: ["Main"]
        ),
        .executableTarget(name: "dx-indicators", dependencies: ["Indicators", "DXRuntime"], path: "Services/Indicators/Main"),
        .target(
            name: "Alerting",
            dependencies: [
                "DXModel", "DXKafka", "DXStore", "DXRuntime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Services/Alerting",
            exclude: ["Main"]
        ),
        .executableTarget(name: "dx-alerts", dependencies: ["Alerting", "DXRuntime"], path: "Services/Alerting/Main"),
        .executableTarget(
            name: "dx",
            dependencies: [
                "DXModel", "DXKafka", "DXStore", "DXRuntime", "Ingestion", "Indicators", "Alerting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/CLI"
        ),

        // Tests: pure logic, then integration against real PostgreSQL and Tansu, then end to end.
        .testTarget(name: "ModelTests", dependencies: ["DXModel"], path: "Tests/ModelTests"),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "DXModel", "DXKafka", "DXStore", "DXRuntime", "Ingestion", "Indicators", "Alerting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // An in-process HTTP server that webhooks are delivered to.
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Tests/IntegrationTests"
        ),
    ]
)

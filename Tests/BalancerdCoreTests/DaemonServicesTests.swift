import BalancerdCore
import Foundation
import Logging
import ServiceLifecycle
import Testing
import TestSupport

/// `Daemon`'s services in one `ServiceGroup`, in this process: what
/// `balancerd serve` runs, without the process around it.
@Suite("a daemon as the services of one group", .serialized)
struct DaemonServicesTests {
    /// A loopback config (plain TCP) for s1 with one peer that never answers, HTTP on `httpPort`.
    struct Fixture {
        let directory: String
        let configPath: String
        let loaded: ConfigLoader.Loaded
        var controlSocket: String { directory + "/run/control" }

        init(httpPort: Int) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("balancerd-services-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let peerPort = try freeLoopbackPort()
            try "s1:test:access:s1.localhost:127.0.0.1:\(peerPort)\na2:test:access:a2.localhost:127.0.0.1:\(peerPort)\n"
                .write(toFile: directory + "/hosts.tab", atomically: true, encoding: .utf8)
            configPath = directory + "/balancerd.yaml"
            try """
                host_id: s1
                hosts_table: hosts.tab
                state_dir: state
                socket_dir: run
                tls: {insecure: true}
                balancer: {spares: [a2]}
                http: {listen: "127.0.0.1:\(httpPort)"}
                """.write(toFile: configPath, atomically: true, encoding: .utf8)
            loaded = try ConfigLoader(environment: [:]).load(path: configPath)
        }

        func group(_ daemon: Daemon) -> ServiceGroup {
            ServiceGroup(configuration: .init(services: daemon.services.map { .init(service: $0) }, logger: DaemonServicesTests.logger))
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    static let live = "GET /health/live HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"

    static let logger: Logger = {
        var logger = Logger(label: "daemon-services-test")
        logger.logLevel = .critical
        return logger
    }()

    @Test("waitUntilReady gives the HTTP port; graceful shutdown closes HTTP and removes the control socket")
    func readyThenGracefulShutdown() async throws {
        let fixture = try Fixture(httpPort: 0)
        defer { fixture.remove() }
        let daemon = try Daemon(loaded: fixture.loaded, configPath: fixture.configPath, webRoot: nil, logger: Self.logger)
        let group = fixture.group(daemon)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = await daemon.waitUntilReady()
            #expect(port > 0)
            #expect(statusCode(of: try rawHTTP(port: port, Self.live)) == 200)
            #expect(FileManager.default.fileExists(atPath: fixture.controlSocket))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            #expect(throws: (any Error).self) { try rawHTTP(port: port, Self.live) }
            #expect(!FileManager.default.fileExists(atPath: fixture.controlSocket))
        }
    }

    @Test("an HTTP port in use fails the group with the address, and what had started is stopped")
    func httpPortInUse() async throws {
        let blocker = try HTTPServer(
            settings: HTTPSettings(listen: ListenAddress(host: "127.0.0.1", port: 0)),
            responder: Router(state: FixedEndpointState(), allow: AddressAllowList(), assets: WebAssets()))
        defer { blocker.stop() }
        let fixture = try Fixture(httpPort: blocker.port)
        defer { fixture.remove() }
        let daemon = try Daemon(loaded: fixture.loaded, configPath: fixture.configPath, webRoot: nil, logger: Self.logger)
        await #expect {
            try await fixture.group(daemon).run()
        } throws: { error in
            "\(error)".contains("cannot listen on 127.0.0.1:\(blocker.port)")
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.controlSocket))
    }
}

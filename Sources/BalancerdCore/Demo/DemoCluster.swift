import Foundation
import Health
import Logging
import Lonc
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The demo's agents, their synthetic load, and the folder that holds them.
///
/// Each server's load average is a file the demo rewrites every second from a
/// function of time (a fake load source); the agents are real `AgentServer`s
/// on loopback sockets, and demo5's is stopped and started again to show a
/// link dropping and rejoining.
public final class DemoCluster: Service {
    public let directory: String
    public let configPath: String
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let agents: [(id: String, port: Int)]
    private let hosts: HostsTable

    /// Every demo server's `agent.load_limit`: a load average of 2.0 is 100 %.
    static let loadLimit = 2.0

    /// Load curves in percent of `load_limit`, by server, over seconds since start.
    static let curves: [String: @Sendable (Double) -> Double] = [
        "demo1": { t in 105 + 35 * sin(t / 30) },
        "demo2": { t in 30 + 15 * sin(t / 7) },
        "demo3": { t in 30 + (t.truncatingRemainder(dividingBy: 120)) },
        "demo4": { _ in 55 },
        "demo5": { t in 20 + 10 * sin(t / 5) },
    ]

    public init(preferredPort: Int, logger: Logger) throws {
        self.logger = logger
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        var template = Array("/tmp/balancerd-demo-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw DemoError("cannot make a temporary folder: \(String(cString: strerror(errno)))") }
        directory = String(cString: made)
        configPath = directory + "/balancerd.yaml"
        let ports = try (1...5).map { _ in try Self.freePort(on: group) }
        agents = (2...5).map { ("demo\($0)", ports[$0 - 1]) }
        var table = "# the demo's servers: id:domain:role:hostname:ip:port\n"
        for (index, port) in ports.enumerated() {
            table += "demo\(index + 1):demo:access:demo\(index + 1).localhost:127.0.0.1:\(port)\n"
        }
        try table.write(toFile: directory + "/hosts.tab", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: directory + "/sessions", withIntermediateDirectories: true)
        // A throwaway cluster CA and a certificate per server: the links run mutual TLS as in production.
        try FileManager.default.createDirectory(atPath: directory + "/certs", withIntermediateDirectories: true)
        try ClusterCertificateAuthority.create(directory: directory + "/certs", commonName: "balancerd demo CA")
        for index in 1...5 {
            try ClusterCertificateAuthority.issue(id: "demo\(index)", hostname: "demo\(index).localhost", caDirectory: directory + "/certs", into: directory + "/certs")
        }
        let httpPort = try preferredPort != 0 && Self.bind(port: preferredPort, on: group) != nil ? preferredPort : Self.freePort(on: group)
        let config = """
            # written by `balancerd demo`; removed when it stops
            host_id: demo1
            hosts_table: hosts.tab
            state_dir: state
            socket_dir: run
            tls:
              ca: certs/ca.pem
              cert: certs/demo1.pem
              key: certs/demo1.key
            links:
              connect_timeout: 2s
              request_timeout: 5s
              keepalive: 5s
              backoff_initial: 250ms
              backoff_max: 2s
              max_attempts: 1000
            poll:
              interval: 1s
              timeout: 500ms
              stale_after: 3s
            balancer:
              mode: overflow
              spares: [demo2, demo3, demo4, demo5]
              slow_start: 20s
              local_login_url: http://demo1.localhost/login
            http:
              listen: 127.0.0.1:\(httpPort)
            agent:
              listen: 127.0.0.1:\(ports[0])
              load_file: load-demo1
              sessions_dir: sessions
              load_limit: \(Self.loadLimit)
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        hosts = try HostsTable.load(path: directory + "/hosts.tab")
        writeLoads(at: 0)
    }

    public func run() async throws {
        var servers: [String: AgentServer] = [:]
        for (id, port) in agents {
            let server = makeAgent(id: id, port: port)
            try await server.start()
            servers[id] = server
        }
        let start = ContinuousClock.now
        var demo5Down = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let elapsed = (ContinuousClock.now - start).secondsValue
            writeLoads(at: elapsed)
            // demo5 is away for 20 s of every minute, from second 40.
            let shouldBeDown = elapsed.truncatingRemainder(dividingBy: 60) >= 40
            if shouldBeDown != demo5Down, let port = agents.first(where: { $0.id == "demo5" })?.port {
                demo5Down = shouldBeDown
                if shouldBeDown {
                    logger.notice("demo: stopping demo5's agent for 20 s")
                    await servers["demo5"]?.stop()
                } else {
                    logger.notice("demo: starting demo5's agent again")
                    let server = makeAgent(id: "demo5", port: port)
                    _ = try? await server.start()
                    servers["demo5"] = server
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
        for server in servers.values { await server.stop() }
        try? await group.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func makeAgent(id: String, port: Int) -> AgentServer {
        let defaults = DaemonConfig.Agent()
        let local = LocalLoad(
            loadAverage: LoadAverageFile(path: "\(directory)/load-\(id)"),
            sessions: SessionDirectory(path: directory + "/sessions", activeWindow: defaults.activeWindow),
            loadLimit: Self.loadLimit, userLoadLimit: defaults.userLoadLimit)
        let hosts = hosts
        return AgentServer(
            settings: AgentSettings(
                ownID: id, host: "127.0.0.1", port: port, handshakeTimeout: .seconds(2), maxLine: LinkSettings().maxLine,
                replies: AgentLoadReplies(load: { local.loadReply() }, userload: { local.userLoadReply() }, loadavg: { local.loadAverageReply() })),
            hosts: { hosts }, transport: transport(for: id), group: group, logger: logger)
    }

    private func transport(for id: String) -> any TransportSecurity {
        let certs = directory + "/certs"
        do {
            return try OpenSSLTransport(caPath: certs + "/ca.pem", certificatePath: "\(certs)/\(id).pem", keyPath: "\(certs)/\(id).key")
        } catch {
            logger.error("demo: an agent answers without TLS, and demo1 will refuse it", metadata: ["agent": "\(id)", "error": "\(error)"])
            return PlainTransport()
        }
    }

    private func writeLoads(at elapsed: Double) {
        for (id, curve) in Self.curves {
            let average = max(0, curve(elapsed)) / 100 * Self.loadLimit
            let line = String(format: "%.2f %.2f %.2f 1/100 1\n", average, average, average)
            try? line.write(toFile: "\(directory)/load-\(id)", atomically: true, encoding: .utf8)
        }
    }

    private static func freePort(on group: any EventLoopGroup) throws -> Int {
        guard let port = bind(port: 0, on: group) else { throw DemoError("cannot find a free port on 127.0.0.1") }
        return port
    }

    /// Binds 127.0.0.1:`port` (0: any free one) and lets go; the port bound, or nil when it is taken.
    private static func bind(port: Int, on group: any EventLoopGroup) -> Int? {
        guard let channel = try? ServerBootstrap(group: group).bind(host: "127.0.0.1", port: port).wait() else { return nil }
        defer { try? channel.close().wait() }
        return channel.localAddress?.port
    }
}

public struct DemoError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

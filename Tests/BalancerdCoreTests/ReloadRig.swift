import Foundation
import Logging
import Lonc
import NIOPosix
import TestSupport
import BalancerdCore

/// A daemon's folder for reload tests, in this process: a cluster CA (and a
/// second one, `ca2/`), certificates for s1 (the daemon), s2 (a peer) and s9
/// (a peer only `hosts2.tab` lists), two load files, two sessions folders,
/// and the config as key → YAML value, written again at every change.
final class ReloadRig: @unchecked Sendable {
    let directory: String
    let agentPort: Int
    let agentCheckPort: Int
    let httpPort: Int
    /// Dotted key → its YAML value.
    var values: [String: String] = [:]
    var configPath: String { directory + "/balancerd.yaml" }

    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    static let logger: Logger = {
        var logger = Logger(label: "reload-rig")
        logger.logLevel = .critical
        return logger
    }()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("balancerd-reload-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/ca2", withIntermediateDirectories: true)
        (agentPort, agentCheckPort, httpPort) = (try freeLoopbackPort(), try freeLoopbackPort(), try freeLoopbackPort())
        try ClusterCertificateAuthority.create(directory: directory)
        try ClusterCertificateAuthority.create(directory: directory + "/ca2")
        for id in ["s1", "s2", "s9"] {
            try ClusterCertificateAuthority.issue(id: id, hostname: "\(id).localhost", caDirectory: directory, into: directory)
            try ClusterCertificateAuthority.issue(id: id, hostname: "\(id).localhost", caDirectory: directory + "/ca2", into: directory + "/ca2")
        }
        let table = "s1:test:access:s1.localhost:127.0.0.1:\(agentPort)\ns2:test:access:s2.localhost:127.0.0.1:\(try freeLoopbackPort())\n"
        try write(table, to: "hosts.tab")
        try write(table + "s9:other:access:s9.localhost:127.0.0.1:\(try freeLoopbackPort())\n", to: "hosts2.tab")
        try write("0.20 0.20 0.20 1/1 1\n", to: "load1")
        try write("0.30 0.30 0.30 1/1 1\n", to: "load2")
        try sessions("sessions1", fresh: 2, tenMinutesOld: 1)
        try sessions("sessions2", fresh: 1, tenMinutesOld: 1)
        for folder in ["state", "state2"] { try FileManager.default.createDirectory(atPath: path(folder), withIntermediateDirectories: true) }
        values = [
            "host_id": "s1", "hosts_table": "hosts.tab", "state_dir": "state", "socket_dir": "run",
            "tls.ca": "ca.pem", "tls.cert": "s1.pem", "tls.key": "s1.key",
            "links.connect_timeout": "1s", "links.backoff_initial": "100ms", "links.backoff_max": "300ms", "links.max_attempts": "1000",
            "poll.interval": "200ms", "poll.timeout": "150ms", "poll.stale_after": "1s", "poll.history": "50",
            "balancer.spares": "[s2]",
            "http.listen": "\"127.0.0.1:\(httpPort)\"",
            "agent.listen": "\"127.0.0.1:\(agentPort)\"", "agent.haproxy_listen": "\"127.0.0.1:\(agentCheckPort)\"",
            "agent.load_file": "load1", "agent.load_limit": "1", "agent.sessions_dir": "sessions1", "agent.user_load_limit": "10",
            "agent.active_window": "30m",
        ]
        try writeConfig()
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func write(_ text: String, to name: String) throws { try text.write(toFile: path(name), atomically: true, encoding: .utf8) }

    /// `fresh` session files and `tenMinutesOld` ones last touched ten minutes ago.
    func sessions(_ folder: String, fresh: Int, tenMinutesOld: Int) throws {
        try FileManager.default.createDirectory(atPath: path(folder), withIntermediateDirectories: true)
        for index in 0..<(fresh + tenMinutesOld) {
            let file = path("\(folder)/session\(index)")
            try "".write(toFile: file, atomically: true, encoding: .utf8)
            guard index >= fresh else { continue }
            let time = Int(Date().timeIntervalSince1970) - 600
            var times = [timespec(tv_sec: time, tv_nsec: 0), timespec(tv_sec: time, tv_nsec: 0)]
            utimensat(AT_FDCWD, file, &times, 0)
        }
    }

    /// The config file from `values`, one block mapping per section.
    func writeConfig() throws {
        var top: [String] = []
        var sections: [String: [String]] = [:]
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            if parts.count == 1 { top.append("\(key): \(value)") } else { sections[parts[0], default: []].append("  \(parts[1]): \(value)") }
        }
        let text = top + sections.sorted(by: { $0.key < $1.key }).flatMap { ["\($0.key):"] + $0.value }
        try write(text.joined(separator: "\n") + "\n", to: "balancerd.yaml")
    }

    func load() throws -> ConfigLoader.Loaded { try ConfigLoader(environment: [:]).load(path: configPath) }

    /// The HAProxy agent-check line (the port answers one and closes).
    func agentCheckLine() -> String? {
        (try? rawHTTP(port: agentCheckPort, "")).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// A TLS link to s1's agent as `id`, with the certificates of `folder` ("" or "ca2/").
    func link(as id: String, certificates folder: String = "") throws -> PeerLink {
        let transport = try OpenSSLTransport(caPath: path(folder + "ca.pem"), certificatePath: path("\(folder)\(id).pem"), keyPath: path("\(folder)\(id).key"))
        let settings = LinkSettings(connectTimeout: .seconds(2), keepalive: .seconds(60), maxAttempts: 1000, backoffInitial: .milliseconds(50), backoffMax: .milliseconds(200))
        let link = PeerLink(
            host: HostEntry(id: "s1", domain: "test", role: "access", hostname: "s1.localhost", address: "127.0.0.1", port: agentPort),
            settings: settings, transport: transport, eventLoop: Self.group.next(), logger: Self.logger)
        link.start()
        return link
    }

    /// The agent's and the HAProxy port's figures for the load files and sessions folders above.
    struct LoadModel {
        var loadFile = "load1", loadLimit = 1.0, sessions = "sessions1", userLoadLimit = 10.0, activeWindowMinutes = 30.0
        var maxLoad = 100.0, drained = false

        var load: Double { (loadFile == "load1" ? 0.20 : 0.30) * 100 / loadLimit }
        var userload: Double {
            let (fresh, old) = sessions == "sessions1" ? (2.0, 1.0) : (1.0, 1.0)
            return (fresh + (activeWindowMinutes > 10 ? old : 0)) * 100 / userLoadLimit
        }
        var agentCheck: String { HAProxyAgentAnswer(loadPercent: load, userLoadPercent: userload, drained: drained, maxLoad: maxLoad).line }
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

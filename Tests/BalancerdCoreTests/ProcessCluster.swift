import Foundation
import Lonc
import TestSupport
import BalancerdCore

/// Real `balancerd` processes on loopback for end-to-end tests: one `serve`
/// and some agents, with certificates from a throwaway CA and load files the
/// test writes (a fake load source, as the standards allow).
final class ProcessCluster: @unchecked Sendable {
    let directory: String
    let agentIDs: [String]
    let httpPort: Int
    private(set) var processes: [String: Process] = [:]
    private var ports: [String: Int] = [:]

    /// The `balancerd` built beside the tests; `E2E_BALANCERD_BINARY` runs
    /// another build instead (an earlier commit's, to show a test fails there).
    static var binary: String {
        if let other = ProcessInfo.processInfo.environment["E2E_BALANCERD_BINARY"], !other.isEmpty { return other }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("balancerd").path
    }

    /// `poll` and `balancer` are the config's flow mappings for those sections.
    init(
        agents: [String], maxAttempts: Int = 1000, poll: String = "{interval: 200ms, timeout: 150ms, stale_after: 1s}",
        balancer: String? = nil
    ) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("balancerd-e2e-\(UUID().uuidString)").path
        agentIDs = agents
        try FileManager.default.createDirectory(atPath: directory + "/sessions", withIntermediateDirectories: true)
        try ClusterCertificateAuthority.create(directory: directory)
        var table = ""
        for id in ["s1"] + agents {
            let port = try freeLoopbackPort()
            ports[id] = port
            table += "\(id):test:access:\(id).localhost:127.0.0.1:\(port)\n"
            try ClusterCertificateAuthority.issue(id: id, hostname: "\(id).localhost", caDirectory: directory, into: directory)
        }
        try table.write(toFile: directory + "/hosts.tab", atomically: true, encoding: .utf8)
        httpPort = try freeLoopbackPort()
        for id in ["s1"] + agents { setLoad(id, percent: 10) }
        let config = """
            host_id: s1
            hosts_table: hosts.tab
            state_dir: state
            socket_dir: run
            tls: {ca: ca.pem, cert: s1.pem, key: s1.key}
            links: {connect_timeout: 1s, request_timeout: 2s, keepalive: 1s, backoff_initial: 100ms, backoff_max: 500ms, max_attempts: \(maxAttempts)}
            poll: \(poll)
            balancer: \(balancer ?? "{mode: overflow, spares: [\(agents.joined(separator: ", "))], slow_start: 0s, login_cost: 0}")
            http: {listen: "127.0.0.1:\(httpPort)"}
            agent: {load_file: load-s1, sessions_dir: sessions, load_limit: 1}
            """
        try config.write(toFile: directory + "/balancerd.yaml", atomically: true, encoding: .utf8)
    }

    /// A cluster with its agents and then serve started: most end-to-end tests begin so.
    static func started(agents: [String]) throws -> ProcessCluster {
        let cluster = try ProcessCluster(agents: agents)
        do {
            for id in agents { try cluster.startAgent(id) }
            try cluster.startServe()
        } catch {
            cluster.stopAll()
            throw error
        }
        return cluster
    }

    /// The agent port the hosts table gives `id`.
    func port(_ id: String) -> Int { ports[id] ?? 0 }

    /// Replaces the config line that starts with `prefix` (e.g. `balancer:`) by `line`.
    func setConfigLine(_ prefix: String, _ line: String) throws {
        let path = directory + "/balancerd.yaml"
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let replaced = lines.map { $0.hasPrefix(prefix) ? line : $0 }
        try (replaced.contains(line) ? replaced : replaced + [line]).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// `balancerd ctl reload`'s answer, through the control socket.
    func ctlReload() throws -> String {
        try ControlClient.send("reload", to: directory + "/run/control")
    }

    /// Writes a server's load file so its `load` is `percent` (load_limit is 1).
    func setLoad(_ id: String, percent: Double) {
        let average = percent / 100
        try? String(format: "%.2f %.2f %.2f 1/1 1\n", average, average, average).write(toFile: "\(directory)/load-\(id)", atomically: true, encoding: .utf8)
    }

    /// `openFiles`: runs it under `prlimit` with that soft and hard open-files limit.
    func startServe(environment: [String: String] = [:], openFiles: Int? = nil) throws {
        try start("s1", arguments: ["serve", "-c", directory + "/balancerd.yaml"], environment: environment, openFiles: openFiles)
    }

    /// Starts a second `serve`, `id`, from the shared config: its own certificate,
    /// agent, HTTP port, state and socket folders.
    func startServe(as id: String, httpPort: Int) throws {
        let own = [
            "BALANCERD_HTTP_LISTEN": "127.0.0.1:\(httpPort)", "BALANCERD_STATE_DIR": "\(directory)/state-\(id)",
            "BALANCERD_SOCKET_DIR": "\(directory)/run-\(id)",
        ]
        try start(id, arguments: ["serve", "-c", directory + "/balancerd.yaml"], environment: agentEnvironment(id).merging(own) { _, new in new })
    }

    /// `user`: runs it as that uid and gid (through `setpriv`, no supplementary groups), as a packaged agent runs as `balancerd`.
    func startAgent(_ id: String, environment extra: [String: String] = [:], user: UInt32? = nil) throws {
        try start(id, arguments: ["agent", "-c", directory + "/balancerd.yaml"], environment: agentEnvironment(id).merging(extra) { _, new in new }, user: user)
    }

    /// The environment that makes the shared config `id`'s.
    func agentEnvironment(_ id: String) -> [String: String] {
        [
            "BALANCERD_HOST_ID": id, "BALANCERD_TLS_CERT": "\(directory)/\(id).pem", "BALANCERD_TLS_KEY": "\(directory)/\(id).key",
            "BALANCERD_AGENT_LISTEN": "127.0.0.1:\(ports[id] ?? 0)", "BALANCERD_AGENT_LOAD_FILE": "\(directory)/load-\(id)",
        ]
    }

    private func start(_ id: String, arguments: [String], environment: [String: String], openFiles: Int? = nil, user: UInt32? = nil) throws {
        let process = Process()
        let limit = openFiles.map { ["/usr/bin/prlimit", "--nofile=\($0):\($0)", "--"] } ?? []
        let asUser = user.map { ["/usr/bin/setpriv", "--reuid=\($0)", "--regid=\($0)", "--clear-groups", "--"] } ?? []
        let command = asUser + limit + [Self.binary] + arguments + ["--log-level", "warning"]
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        let log = directory + "/\(id).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        processes[id] = process
    }

    func signal(_ id: String, _ signal: Int32) {
        if let pid = processes[id]?.processIdentifier { Glibc.kill(pid, signal) }
    }

    func kill(_ id: String) {
        signal(id, SIGKILL)
        processes[id]?.waitUntilExit()
        processes[id] = nil
    }

    func log(_ id: String) -> String { (try? String(contentsOfFile: directory + "/\(id).log", encoding: .utf8)) ?? "" }

    func get(_ target: String, port: Int? = nil) -> String? {
        try? rawHTTP(port: port ?? httpPort, "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port ?? httpPort)\r\nConnection: close\r\n\r\n")
    }

    /// The /health document, decoded into the type the daemon encodes it from.
    func health(port: Int? = nil) -> HealthDocument? {
        guard let response = get("/health", port: port), let body = response.components(separatedBy: "\r\n\r\n").dropFirst().first else { return nil }
        return try? HealthDocument(json: Data(body.utf8))
    }

    /// The /decisions document, newest first.
    func decisions() -> DecisionsDocument? {
        guard let response = get("/decisions"), let body = response.components(separatedBy: "\r\n\r\n").dropFirst().first else { return nil }
        return try? DecisionsDocument(json: Data(body.utf8))
    }

    func peer(_ id: String, port: Int? = nil) -> HealthDocument.Peer? {
        health(port: port)?.peers.first { $0.id == id }
    }

    /// The target of one login.
    func login() -> String? { get("/login").flatMap { header("X-Balancer-Target", in: $0) } }

    func stopAll() {
        for (id, process) in processes where process.isRunning {
            signal(id, SIGTERM)
            process.waitUntilExit()
        }
        processes = [:]
        try? FileManager.default.removeItem(atPath: directory)
    }

}

/// How long a test waits for something before it fails. A bound for a broken
/// daemon, never a performance claim: a machine busy with other builds may take
/// many times the usual second, and a test must not fail for that.
let failureBound: Duration = .seconds(60)

/// Waits until `condition` holds, checking every 20 ms, up to `timeout`; returns the time it took.
func waitFor(_ timeout: Duration = failureBound, _ condition: @escaping @Sendable () -> Bool) async -> Duration? {
    await waitFor(timeout, polling: condition, until: { $0 }).took
}

/// Calls `produce` every 20 ms until `done` holds for what it gave, up to `timeout`;
/// returns the last value and the time it took (nil at the timeout). Each call
/// runs on a thread of its own (`blocking`): it asks a daemon over HTTP or a
/// socket, or runs a tool, and must not hold a concurrency thread meanwhile.
func waitFor<T: Sendable>(
    _ timeout: Duration = failureBound, polling produce: @escaping @Sendable () -> T, until done: @escaping @Sendable (T) -> Bool
) async -> (last: T, took: Duration?) {
    let start = ContinuousClock.now
    while true {
        let value = await blocking(produce)
        if done(value) { return (value, ContinuousClock.now - start) }
        if ContinuousClock.now - start >= timeout { return (value, nil) }
        try? await Task.sleep(for: .milliseconds(20))
    }
}

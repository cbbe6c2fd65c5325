import Foundation
import Testing
import BalancerdCore
import Lonc

/// `ConfigSchema` declares every key once; what the loader reads, what the
/// environment overrides, what a reload applies or keeps, the reference's keys
/// table and the example config are checked against it here, key by key.
@Suite("the config schema: every key declared once")
struct ConfigSchemaTests {
    /// A value for each key other than the base config's, as an environment
    /// variable's text, and the config that text makes. Every key of the
    /// schema needs one (a new key fails `everyKeyHasASample`).
    static let samples: [String: (text: String, apply: @Sendable (inout DaemonConfig, String) -> Void)] = [
        "host_id": ("lb2", { config, _ in
            config.hostID = "lb2"
            config.http.statusHosts = StatusHosts.defaults(ownHostname: "lb2.localhost", listenHost: config.http.listen.host)
        }),
        "hosts_table": ("hosts2.tab", { config, folder in config.hostsTablePath = folder + "/hosts2.tab" }),
        "state_dir": ("state2", { config, folder in config.stateDirectory = folder + "/state2" }),
        "socket_dir": ("/run/other", { config, _ in config.socketDirectory = "/run/other" }),
        "relay_sockets": ("false", { config, _ in config.relaySockets = false }),
        "socket_group": ("root", { config, _ in config.socketGroup = SocketGroup(named: "root") }),
        "tls.ca": ("other-ca.pem", { config, folder in config.tls.caPath = folder + "/other-ca.pem" }),
        "tls.cert": ("other.pem", { config, folder in config.tls.certificatePath = folder + "/other.pem" }),
        "tls.key": ("other.key", { config, folder in config.tls.keyPath = folder + "/other.key" }),
        "tls.insecure": ("true", { config, _ in config.tls.insecure = true }),
        "links.port": ("7000", { config, _ in config.links.port = 7000 }),
        "links.connect_timeout": ("250ms", { config, _ in config.links.connectTimeout = .milliseconds(250) }),
        "links.request_timeout": ("2m", { config, _ in config.links.requestTimeout = .seconds(120) }),
        "links.keepalive": ("3s", { config, _ in config.links.keepalive = .seconds(3) }),
        "links.max_attempts": ("4", { config, _ in config.links.maxAttempts = 4 }),
        "links.backoff_initial": ("100ms", { config, _ in config.links.backoffInitial = .milliseconds(100) }),
        "links.backoff_max": ("1h", { config, _ in config.links.backoffMax = .seconds(3600) }),
        "links.pipeline_depth": ("8", { config, _ in config.links.pipelineDepth = 8 }),
        "links.max_connecting": ("16", { config, _ in config.links.maxConnecting = 16 }),
        "links.max_line": ("1024", { config, _ in config.links.maxLine = 1024 }),
        "links.request_ids": ("no", { config, _ in config.links.requestIDs = false }),
        "poll.interval": ("1500ms", { config, _ in config.poll.interval = .milliseconds(1500) }),
        "poll.timeout": ("500ms", { config, _ in config.poll.timeout = .milliseconds(500) }),
        "poll.stale_after": ("10s", { config, _ in config.poll.staleAfter = .seconds(10) }),
        "poll.history": ("60", { config, _ in config.poll.history = 60 }),
        "balancer.mode": ("round-robin", { config, _ in config.balancer.mode = .roundRobin }),
        "balancer.spares": ("lb2", { config, _ in config.balancer.spares = ["lb2"] }),
        "balancer.backups": ("lb2", { config, _ in config.balancer.backups = ["lb2"] }),
        "balancer.instances": ("lb1,lb2", { config, _ in config.balancer.instances = ["lb1", "lb2"] }),
        "balancer.same_domain": ("false", { config, _ in config.balancer.sameDomain = false }),
        "balancer.login_cost": ("1.25", { config, _ in config.balancer.loginCost = 1.25 }),
        "balancer.learn_login_cost": ("true", { config, _ in config.balancer.learnsLoginCost = true }),
        "balancer.load_time_constant": ("0s", { config, _ in config.balancer.loadTimeConstant = .zero }),
        "balancer.address_rate": ("0", { config, _ in config.balancer.addressRate = 0 }),
        "balancer.address_burst": ("7", { config, _ in config.balancer.addressBurst = 7 }),
        "balancer.max_load": ("90", { config, _ in config.balancer.maxLoad = 90 }),
        "balancer.readmit_load": ("70", { config, _ in config.balancer.readmitLoad = 70 }),
        "balancer.slow_start": ("0s", { config, _ in config.balancer.slowStart = .zero }),
        "balancer.affinity_cookie": ("lb_server", { config, _ in config.balancer.affinityCookie = "lb_server" }),
        "balancer.affinity_lifetime": ("30m", { config, _ in config.balancer.affinityLifetime = .seconds(1800) }),
        "balancer.local_login_url": ("https://elsewhere.example/x", { config, _ in config.balancer.localLoginURL = "https://elsewhere.example/x" }),
        "balancer.scheme": ("http", { config, _ in config.balancer.scheme = "http" }),
        "balancer.login_path": ("/enter", { config, _ in config.balancer.loginPath = "/enter" }),
        "http.listen": ("127.0.0.1:9090", { config, _ in config.http.listen = ListenAddress(host: "127.0.0.1", port: 9090) }),
        "http.threads": ("4", { config, _ in config.http.threads = 4 }),
        "http.connection_limit": ("10", { config, _ in config.http.connectionLimit = 10 }),
        "http.connection_timeout": ("3s", { config, _ in config.http.connectionTimeout = .seconds(3) }),
        "http.per_address_limit": ("0", { config, _ in config.http.perAddressLimit = 0 }),
        "http.connection_memory": ("8192", { config, _ in config.http.connectionMemory = 8192 }),
        "http.status_allow": ("10.0.0.0/8", { config, _ in config.http.statusAllow = ["10.0.0.0/8"] }),
        "http.trusted_proxies": ("127.0.0.1", { config, _ in config.http.trustedProxies = ["127.0.0.1"] }),
        "http.status_hosts": ("lb.example.edu", { config, _ in config.http.statusHosts = ["lb.example.edu"] }),
        "agent.listen": ("127.0.0.2:5701", { config, _ in config.agent.listen = ListenAddress(host: "127.0.0.2", port: 5701) }),
        "agent.haproxy_listen": ("127.0.0.1:5555", { config, _ in config.agent.haproxyListen = ListenAddress(host: "127.0.0.1", port: 5555) }),
        "agent.load_limit": ("4", { config, _ in config.agent.loadLimit = 4 }),
        "agent.user_load_limit": ("1000", { config, _ in config.agent.userLoadLimit = 1000 }),
        "agent.sessions_dir": ("sessions", { config, folder in config.agent.sessionsDirectory = folder + "/sessions" }),
        "agent.active_window": ("10m", { config, _ in config.agent.activeWindow = .seconds(600) }),
        "agent.load_file": ("loadavg", { config, folder in config.agent.loadFile = folder + "/loadavg" }),
        "agent.handler": ("/run/app/handler.sock", { config, _ in config.agent.handler = "/run/app/handler.sock" }),
        "agent.handler_timeout": ("5s", { config, _ in config.agent.handlerTimeout = .seconds(5) }),
        "agent.handler_connections": ("2", { config, _ in config.agent.handlerConnections = 2 }),
    ]

    static let base = "host_id: lb1\nhosts_table: hosts.tab\nagent: {listen: \"127.0.0.1:5701\"}\n"

    @Test("every key has a sample here, and no sample names a key the schema lacks")
    func everyKeyHasASample() {
        #expect(Set(ConfigSchema.keys.map(\.name)) == Set(Self.samples.keys))
        #expect(ConfigSchema.keys.count == Set(ConfigSchema.keys.map(\.name)).count, "a key declared twice")
    }

    /// The environment name is what the loader reads: set alone, each sample
    /// changes its key and nothing else (but what is made from it).
    @Test("each key is read from its BALANCERD_ variable; a reload applies it or keeps its running value, as the schema says", arguments: ConfigSchema.keys.map(\.name))
    func keyByKey(name: String) throws {
        let fixture = try ConfigFixture(hosts: ConfigFixture.loopbackHosts)
        defer { fixture.remove() }
        try ConfigFixture.loopbackHosts.write(toFile: fixture.directory.path + "/hosts2.tab", atomically: true, encoding: .utf8)
        let key = try #require(ConfigSchema.key(name))
        let sample = try #require(Self.samples[name])
        let path = fixture.directory.appendingPathComponent("balancerd.yaml").path
        try Self.base.write(toFile: path, atomically: true, encoding: .utf8)
        let old = try ConfigLoader(environment: [:]).loadIgnoringTLSFiles(path: path).config
        let loaded = try ConfigLoader(environment: [key.environmentName: sample.text]).loadIgnoringTLSFiles(path: path)
        var expected = old
        sample.apply(&expected, fixture.directory.path)
        #expect(loaded.config == expected)
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")

        for (command, reloadClass) in [(ReloadPlan.Command.serve, key.serve), (.agent, key.agent)] {
            let plan = ReloadPlan(command, from: old, to: loaded.config)
            let listed = [ReloadClass.applied: plan.applied, .restart: plan.needRestart, .unused: plan.unused]
            #expect(listed[reloadClass]?.contains(name) == true, "\(command): \(plan)")
            // What runs has the old value of a restart key, the new one of the others.
            let running = ReloadPlan.running(command, loaded.config, keepingFrom: old)
            let differs = ReloadPlan(command, from: reloadClass == .restart ? old : loaded.config, to: running)
            #expect(!(differs.applied + differs.needRestart + differs.unused).contains(name), "\(command) runs the \(reloadClass == .restart ? "old" : "new") value")
        }
    }

    /// docs/REFERENCE.md's `balancerd.yaml` table: the schema's keys in its
    /// order, with its defaults and reload classes, each meaning starting with the key's line.
    @Test("the reference's keys table is the schema's: keys in order, defaults, reload classes, the line of each")
    func referenceTable() throws {
        let reference = try String(contentsOfFile: repositoryRoot + "/docs/REFERENCE.md", encoding: .utf8)
        let header = "| key | default | serve | agent | meaning |"
        let table = try #require(reference.components(separatedBy: header).dropFirst().first?.components(separatedBy: "\n\n").first)
        var documented: [(key: String, cells: [String])] = []
        for line in table.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast().map { $0.trimmingCharacters(in: .whitespaces) }
            // `tls.cert`, `tls.key` share a row.
            for name in cells[0].split(separator: ",") {
                documented.append((name.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`")), Array(cells.dropFirst())))
            }
        }
        #expect(documented.map(\.key) == ConfigSchema.keys.map(\.name))
        for (name, cells) in documented {
            guard let key = ConfigSchema.key(name), cells.count == 4 else { continue }
            #expect(cells[0] == key.defaultText, "\(name)'s default")
            #expect(cells[1] == Self.cell(key.serve) && cells[2] == Self.cell(key.agent), "\(name)'s reload classes")
            #expect(cells[3].hasPrefix(key.doc), "\(name): '\(cells[3].prefix(60))…' does not start with the schema's line '\(key.doc)'")
        }
    }

    static func cell(_ reloadClass: ReloadClass) -> String { reloadClass == .unused ? "–" : reloadClass.rawValue }

    /// examples/balancerd.yaml shows every key, set or as a commented-out line;
    /// the shipped dist/etc/balancerd.yaml sets none the schema lacks.
    @Test("the example config names every key, and the shipped one no unknown key")
    func exampleConfigs() throws {
        let example = try Self.keys(inYAML: repositoryRoot + "/examples/balancerd.yaml", commented: true)
        #expect(Set(example) == Set(ConfigSchema.keys.map(\.name)), "missing: \(Set(ConfigSchema.keys.map(\.name)).subtracting(example).sorted())")
        let shipped = try Self.keys(inYAML: repositoryRoot + "/dist/etc/balancerd.yaml", commented: false)
        #expect(Set(shipped).isSubset(of: ConfigSchema.keys.map(\.name)), "\(Set(shipped).subtracting(ConfigSchema.keys.map(\.name)))")
    }

    /// The dotted keys a YAML file sets, in block style; with `commented`,
    /// `# key: value` lines too (the example's optional keys).
    static func keys(inYAML path: String, commented: Bool) throws -> [String] {
        var keys: [String] = []
        var section = ""
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            var text = Substring(line)
            let indented = text.hasPrefix(" ")
            text = text.drop { $0 == " " }
            if text.hasPrefix("#") {
                guard commented, text.dropFirst().hasPrefix(" "), !text.dropFirst(2).hasPrefix(" ") else { continue }
                text = text.dropFirst(2)
            }
            guard let colon = text.firstIndex(of: ":"), text[..<colon].allSatisfy({ $0.isLetter || $0 == "_" }), !text.isEmpty else { continue }
            let name = String(text[..<colon])
            let rest = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if !indented, rest.isEmpty || rest.hasPrefix("#") {
                section = name
            } else {
                keys.append(indented ? "\(section).\(name)" : name)
                if !indented { section = "" }
            }
        }
        return keys
    }
}

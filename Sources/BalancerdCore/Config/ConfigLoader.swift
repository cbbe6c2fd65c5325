import Configuration
import Foundation
import Lonc
import Yams

/// Loads `balancerd.yaml` and the hosts table it names, checking everything and
/// reporting every problem at once (DESIGN.md, "Files").
///
/// Values come from two swift-configuration providers, environment first:
/// `BALANCERD_` + the key path in upper case (`BALANCERD_HTTP_LISTEN`), then the
/// YAML file. The YAML is also read as a node tree, only to give problems their
/// line numbers and to catch keys nobody reads (a typo must not pass silently).
public struct ConfigLoader {
    /// The process environment (a parameter so tests can pass their own).
    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The config, its hosts table, and warnings that did not stop it.
    public struct Loaded: Sendable {
        public var config: DaemonConfig
        public var hosts: HostsTable
        public var warnings: [ConfigProblem]
    }

    public func load(path: String) throws(ConfigError) -> Loaded {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(problems: [ConfigProblem(location: path, message: "cannot read the config file: \(Self.reason(error))")])
        }
        return try load(text: text, path: path)
    }

    /// Loads a config whose TLS files may not exist yet (`balancerd certs issue` makes them).
    public func loadIgnoringTLSFiles(path: String) throws(ConfigError) -> Loaded {
        var loader = self
        loader.checkTLSFiles = false
        return try loader.load(path: path)
    }

    /// When false, missing tls.* files are not problems.
    var checkTLSFiles = true

    public func load(text: String, path: String) throws(ConfigError) -> Loaded {
        let source: ConfigSource
        do {
            source = try ConfigSource(text: text, file: path, environment: environment)
        } catch {
            throw ConfigError(problems: [error])
        }
        var reader = ConfigFieldReader(source: source)
        let baseDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        func resolve(_ value: String) -> String {
            value.hasPrefix("/") || value.isEmpty ? value : URL(fileURLWithPath: value, relativeTo: URL(fileURLWithPath: baseDirectory + "/")).standardizedFileURL.path
        }

        let hostID = reader.string("host_id", default: "")
        if hostID.isEmpty { reader.problem("host_id", "missing: this server's id in the hosts table is required") }
        let hostsTablePath = resolve(reader.string("hosts_table", default: "/etc/balancerd/hosts.tab"))
        let stateDirectory = resolve(reader.string("state_dir", default: "/var/lib/balancerd"))
        let socketDirectory = resolve(reader.string("socket_dir", default: "/run/balancerd"))

        let tls = DaemonConfig.TLS(
            caPath: resolve(reader.string("tls.ca", default: "")),
            certificatePath: resolve(reader.string("tls.cert", default: "")),
            keyPath: resolve(reader.string("tls.key", default: "")),
            insecure: reader.bool("tls.insecure", default: false))

        let links = DaemonConfig.Links(
            port: reader.integer("links.port", default: 5663, in: 1...65535),
            connectTimeout: reader.duration("links.connect_timeout", default: .seconds(5)),
            requestTimeout: reader.duration("links.request_timeout", default: .seconds(60)),
            keepalive: reader.duration("links.keepalive", default: .seconds(10)),
            maxAttempts: reader.integer("links.max_attempts", default: 15, in: 1...1_000_000),
            backoffInitial: reader.duration("links.backoff_initial", default: .milliseconds(500)),
            backoffMax: reader.duration("links.backoff_max", default: .seconds(30)),
            pipelineDepth: reader.integer("links.pipeline_depth", default: 64, in: 1...4096),
            maxLine: reader.integer("links.max_line", default: 65536, in: 64...(16 << 20)))
        if links.backoffInitial > links.backoffMax {
            reader.problem("links.backoff_initial", "\(links.backoffInitial.configText) is longer than links.backoff_max \(links.backoffMax.configText)")
        }

        let poll = DaemonConfig.Poll(
            interval: reader.duration("poll.interval", default: .seconds(2)),
            timeout: reader.duration("poll.timeout", default: .seconds(1)),
            staleAfter: reader.duration("poll.stale_after", default: .seconds(6)),
            history: reader.integer("poll.history", default: 900, in: 1...100_000))
        if poll.timeout > poll.interval {
            reader.problem("poll.timeout", "\(poll.timeout.configText) is longer than poll.interval \(poll.interval.configText): polls would overlap")
        }
        if poll.staleAfter <= poll.interval {
            reader.problem("poll.stale_after", "\(poll.staleAfter.configText) must be longer than poll.interval \(poll.interval.configText), or every sample is stale before the next arrives")
        }

        let modeText = reader.string("balancer.mode", default: "overflow")
        let mode = DaemonConfig.BalancerSection.Mode(rawValue: modeText)
        if mode == nil {
            reader.problem("balancer.mode", "'\(modeText)' is not a mode (expected overflow, always or round-robin)")
        }
        let scheme = reader.string("balancer.scheme", default: "https")
        if scheme != "https" && scheme != "http" {
            reader.problem("balancer.scheme", "'\(scheme)' is not http or https")
        }
        let loginPath = reader.string("balancer.login_path", default: "/login")
        if !loginPath.hasPrefix("/") || loginPath.hasPrefix("//") || loginPath.contains(where: { $0.isWhitespace || $0 == "?" || $0 == "#" }) {
            reader.problem("balancer.login_path", "'\(loginPath)' must be a path starting with a single '/' without spaces, '?' or '#'")
        }
        let maxLoad = reader.number("balancer.max_load", default: 100, in: 1...10_000)
        let readmitLoad = reader.number("balancer.readmit_load", default: 85, in: 0...10_000)
        if readmitLoad > maxLoad {
            reader.problem("balancer.readmit_load", "\(readmitLoad.configText) is above balancer.max_load \(maxLoad.configText): a spare could never be re-admitted")
        }
        var balancer = DaemonConfig.BalancerSection(
            mode: mode ?? .overflow,
            spares: reader.list("balancer.spares", default: []),
            sameDomain: reader.bool("balancer.same_domain", default: true),
            loginCost: reader.number("balancer.login_cost", default: 0.5, in: 0...100),
            maxLoad: maxLoad,
            readmitLoad: readmitLoad,
            slowStart: reader.duration("balancer.slow_start", default: .seconds(60), allowZero: true),
            localLoginURL: reader.string("balancer.local_login_url", default: ""),
            scheme: scheme,
            loginPath: loginPath)
        if !balancer.localLoginURL.isEmpty, !ConfigValueParsing.isAbsoluteHTTPURL(balancer.localLoginURL) {
            reader.problem("balancer.local_login_url", "'\(balancer.localLoginURL)' is not an absolute http(s) URL")
        }

        let httpListenText = reader.string("http.listen", default: "0.0.0.0:8080")
        let httpListen = ListenAddress(parsing: httpListenText)
        if httpListen == nil { reader.problem("http.listen", "'\(httpListenText)' is not host:port, [ipv6]:port or :port") }
        let statusAllow = reader.list("http.status_allow", default: ["127.0.0.0/8", "::1/128"])
        for entry in statusAllow where !ConfigValueParsing.isCIDR(entry) {
            reader.problem("http.status_allow", "'\(entry)' is not an address or CIDR block (e.g. 10.0.0.0/8, ::1/128)")
        }
        let http = DaemonConfig.HTTP(
            listen: httpListen ?? ListenAddress(host: "0.0.0.0", port: 8080),
            threads: reader.integer("http.threads", default: 2, in: 1...256),
            connectionLimit: reader.integer("http.connection_limit", default: 1024, in: 1...1_000_000),
            connectionTimeout: reader.duration("http.connection_timeout", default: .seconds(15)),
            perAddressLimit: reader.integer("http.per_address_limit", default: 256, in: 0...1_000_000),
            statusAllow: statusAllow)

        var agentListen: ListenAddress?
        if let listenText = reader.optionalString("agent.listen") {
            agentListen = ListenAddress(parsing: listenText)
            if agentListen == nil { reader.problem("agent.listen", "'\(listenText)' is not host:port, [ipv6]:port or :port") }
        }
        let agent = DaemonConfig.Agent(
            listen: agentListen,
            loadLimit: reader.number("agent.load_limit", default: 2.0, in: 0.01...100_000),
            userLoadLimit: reader.number("agent.user_load_limit", default: 500, in: 1...100_000_000),
            sessionsDirectory: resolve(reader.string("agent.sessions_dir", default: "/var/lib/sessions")),
            activeWindow: reader.duration("agent.active_window", default: .seconds(1800)),
            loadFile: resolve(reader.string("agent.load_file", default: "/proc/loadavg")))

        var problems = source.unknownKeyProblems(known: reader.readKeys) + reader.problems
        // The hosts table, and what the config says about it.
        var hosts = HostsTable(entries: [])
        do {
            hosts = try HostsTable.load(path: hostsTablePath)
        } catch {
            problems += error.problems.map { ConfigProblem(location: $0.line.map { "\(error.file):\($0)" } ?? error.file, message: $0.message) }
        }
        let hostsLoaded = !problems.contains { $0.location.hasPrefix(hostsTablePath) }
        var own: HostEntry?
        if hostsLoaded, !hostID.isEmpty {
            own = hosts[hostID]
            if own == nil {
                problems.append(source.problem("host_id", "'\(hostID)' is not in the hosts table \(hostsTablePath) (ids there: \(hosts.ids.prefix(8).joined(separator: ", "))\(hosts.entries.count > 8 ? ", …" : ""))"))
            }
        }
        if hostsLoaded {
            var seen = Set<String>()
            for spare in balancer.spares {
                if !seen.insert(spare).inserted {
                    problems.append(source.problem("balancer.spares", "'\(spare)' is listed twice"))
                } else if spare == hostID {
                    // One config shared by every server (host_id from the environment) lists them all.
                    var warning = source.problem("balancer.spares", "'\(spare)' is this server itself (host_id); it is skipped")
                    warning.isWarning = true
                    problems.append(warning)
                } else if let entry = hosts[spare] {
                    if balancer.sameDomain, let own, entry.domain != own.domain {
                        var warning = source.problem("balancer.spares", "'\(spare)' is in domain \(entry.domain), not \(own.domain): with same_domain it is never chosen")
                        warning.isWarning = true
                        problems.append(warning)
                    }
                } else {
                    problems.append(source.problem("balancer.spares", "'\(spare)' is not in the hosts table \(hostsTablePath)"))
                }
            }
            if tls.insecure {
                for entry in hosts.entries where !entry.isLoopback {
                    problems.append(source.problem("tls.insecure", "plain TCP is refused because peer '\(entry.id)' has the non-loopback address \(entry.address)"))
                    break
                }
            }
        }
        if !checkTLSFiles {
            // balancerd certs: the files are what is being made.
        } else if !tls.insecure, tls.caPath.isEmpty, tls.certificatePath.isEmpty, tls.keyPath.isEmpty {
            problems.append(source.problem("tls.ca", "missing: mutual TLS needs tls.ca, tls.cert and tls.key (or tls.insecure: true on loopback)"))
        } else if !tls.insecure {
            for (key, path) in [("tls.ca", tls.caPath), ("tls.cert", tls.certificatePath), ("tls.key", tls.keyPath)] {
                if path.isEmpty {
                    problems.append(source.problem(key, "missing: mutual TLS needs tls.ca, tls.cert and tls.key"))
                } else if !FileManager.default.isReadableFile(atPath: path) {
                    let exists = FileManager.default.fileExists(atPath: path)
                    problems.append(source.problem(key, exists ? "\(path) is not readable" : "\(path) does not exist (make one with `balancerd certs`)"))
                }
            }
        }
        balancer.spares.removeAll { $0 == hostID }
        if balancer.localLoginURL.isEmpty, let own {
            balancer.localLoginURL = "\(balancer.scheme)://\(own.hostname)\(balancer.loginPath)"
        }

        let errors = problems.filter { !$0.isWarning }
        guard errors.isEmpty else { throw ConfigError(problems: problems) }
        let config = DaemonConfig(
            file: path, hostID: hostID, hostsTablePath: hostsTablePath, stateDirectory: stateDirectory,
            socketDirectory: socketDirectory, tls: tls, links: links, poll: poll, balancer: balancer,
            http: http, agent: agent)
        return Loaded(config: config, hosts: hosts, warnings: problems.filter(\.isWarning))
    }

    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError { return "no such file" }
        return nsError.localizedDescription
    }
}

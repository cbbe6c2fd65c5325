import Configuration
import Foundation
import Lonc
import Yams

/// Loads `balancerd.yaml` and the hosts table it names, checking everything and
/// reporting every problem at once (docs/REFERENCE.md, "Files").
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

        var config = DaemonConfig(file: path)
        config.hostID = reader.string("host_id", default: config.hostID)
        if config.hostID.isEmpty { reader.problem("host_id", "missing: this server's id in the hosts table is required") }
        config.hostsTablePath = resolve(reader.string("hosts_table", default: config.hostsTablePath))
        config.stateDirectory = resolve(reader.string("state_dir", default: config.stateDirectory))
        config.socketDirectory = resolve(reader.string("socket_dir", default: config.socketDirectory))
        if let name = reader.optionalString("socket_group") {
            config.socketGroup = SocketGroup(named: name)
            if config.socketGroup == nil { reader.problem("socket_group", "there is no group '\(name)' on this machine (see /etc/group)") }
        }

        config.tls.caPath = resolve(reader.string("tls.ca", default: config.tls.caPath))
        config.tls.certificatePath = resolve(reader.string("tls.cert", default: config.tls.certificatePath))
        config.tls.keyPath = resolve(reader.string("tls.key", default: config.tls.keyPath))
        config.relaySockets = reader.bool("relay_sockets", default: config.relaySockets)
        config.tls.insecure = reader.bool("tls.insecure", default: config.tls.insecure)

        readLinks(into: &config.links, with: &reader)
        readPoll(into: &config.poll, with: &reader)
        readBalancer(into: &config.balancer, with: &reader)
        readHTTP(into: &config.http, with: &reader)
        readAgent(into: &config.agent, with: &reader, resolve: resolve)

        let (hostID, hostsTablePath, tls) = (config.hostID, config.hostsTablePath, config.tls)
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
            for (key, ids) in [("balancer.spares", config.balancer.spares), ("balancer.backups", config.balancer.backups)] {
                for spare in ids {
                    if !seen.insert(spare).inserted {
                        let note = config.balancer.spares.contains(spare) && key == "balancer.backups" ? " (it is already in balancer.spares)" : ""
                        problems.append(source.problem(key, "'\(spare)' is listed twice\(note)"))
                    } else if spare == hostID {
                        // One config shared by every server (host_id from the environment) lists them all.
                        var warning = source.problem(key, "'\(spare)' is this server itself (host_id); it is skipped")
                        warning.isWarning = true
                        problems.append(warning)
                    } else if let entry = hosts[spare] {
                        if config.balancer.sameDomain, let own, entry.domain != own.domain {
                            var warning = source.problem(key, "'\(spare)' is in domain \(entry.domain), not \(own.domain): with same_domain it is never chosen")
                            warning.isWarning = true
                            problems.append(warning)
                        }
                    } else {
                        problems.append(source.problem(key, "'\(spare)' is not in the hosts table \(hostsTablePath)"))
                    }
                }
            }
            problems += Self.instanceProblems(config, hostID: hostID, hosts: hosts, source: source)
            if tls.insecure {
                for entry in hosts.entries where !entry.isLoopback {
                    problems.append(source.problem("tls.insecure", "plain TCP is refused because peer '\(entry.id)' has the non-loopback address \(entry.address)"))
                    break
                }
            }
        }
        if tls.insecure { problems += Self.insecureListenProblems(config, source: source) }
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
            if !problems.contains(where: { ["tls.ca", "tls.cert", "tls.key"].contains($0.key) }) {
                problems += Self.tlsProblems(tls, own: own, source: source)
            }
        }
        if checkTLSFiles {
            problems += Self.loadSourceWarnings(config.agent, requestTimeout: config.links.requestTimeout, source: source) + Self.protectHomeWarnings(config, source: source)
                + Self.relayGroupWarnings(config, source: source)
        }
        if config.http.statusHosts.isEmpty {
            config.http.statusHosts = StatusHosts.defaults(ownHostname: own?.hostname, listenHost: config.http.listen.host)
        }
        config.balancer.spares.removeAll { $0 == hostID }
        config.balancer.backups.removeAll { $0 == hostID }
        if config.balancer.localLoginURL.isEmpty, let own {
            config.balancer.localLoginURL = "\(config.balancer.scheme)://\(own.hostname)\(config.balancer.loginPath)"
        }

        let errors = problems.filter { !$0.isWarning }
        guard errors.isEmpty else { throw ConfigError(problems: problems) }
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

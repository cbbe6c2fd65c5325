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
        try load(text: try Self.text(of: path, what: "the config file"), path: path)
    }

    /// A file's text, or a problem naming it ("cannot read the config file: no such file").
    static func text(of path: String, what: String) throws(ConfigError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(problems: [ConfigProblem(location: path, message: "cannot read \(what): \(reason(error))")])
        }
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
        let context = ConfigReadContext(resolve: { value in
            value.hasPrefix("/") || value.isEmpty ? value : URL(fileURLWithPath: value, relativeTo: URL(fileURLWithPath: baseDirectory + "/")).standardizedFileURL.path
        })
        var config = DaemonConfig(file: path)
        ConfigSchema.read(into: &config, with: &reader, context: context)

        var problems = source.unknownKeyProblems(known: reader.readKeys) + reader.problems
        // The hosts table, and what the config says about it.
        var hosts = HostsTable(entries: [])
        do {
            hosts = try HostsTable.load(path: config.hostsTablePath)
        } catch {
            problems += error.problems.map { ConfigProblem(location: $0.line.map { "\(error.file):\($0)" } ?? error.file, message: $0.message) }
        }
        let hostsLoaded = !problems.contains { $0.location.hasPrefix(config.hostsTablePath) }
        let own = hostsLoaded && !config.hostID.isEmpty ? hosts[config.hostID] : nil
        if hostsLoaded {
            problems += Self.hostsProblems(config, own: own, hosts: hosts, source: source)
        }
        if config.tls.insecure { problems += Self.insecureListenProblems(config, source: source) }
        if checkTLSFiles {
            // Without: balancerd certs, where the files are what is being made.
            problems += Self.tlsFileProblems(config.tls, own: own, source: source)
            problems += Self.loadSourceWarnings(config.agent, requestTimeout: config.links.requestTimeout, source: source) + Self.protectHomeWarnings(config, source: source)
                + Self.relayGroupWarnings(config, source: source)
        }
        Self.fillDefaultsFromHosts(&config, own: own)

        let errors = problems.filter { !$0.isWarning }
        guard errors.isEmpty else { throw ConfigError(problems: problems) }
        return Loaded(config: config, hosts: hosts, warnings: problems.filter(\.isWarning))
    }

    /// What needs the hosts table: `status_hosts`' defaults, and this server
    /// taken out of its own spares.
    private static func fillDefaultsFromHosts(_ config: inout DaemonConfig, own: HostEntry?) {
        if config.http.statusHosts.isEmpty {
            config.http.statusHosts = StatusHosts.defaults(ownHostname: own?.hostname, listenHost: config.http.listen.host)
        }
        config.balancer.spares.removeAll { $0 == config.hostID }
        config.balancer.backups.removeAll { $0 == config.hostID }
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

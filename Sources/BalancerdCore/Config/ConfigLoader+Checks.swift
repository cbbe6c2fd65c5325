import Foundation
import Health
import Lonc

// What `check` looks at beyond the keys themselves: the TLS set-up as the
// daemon loads it, the load sources the agent reads, and folders the shipped
// systemd unit would hide. Each finds what would otherwise go wrong silently
// (an overloaded server reading 0 %, links refused far from the cause).

extension ConfigLoader {
    /// The TLS set-up loaded as `serve` loads it, checked against the CA and
    /// this server's hostname; errors for what peers would refuse, warnings
    /// for an expiry within 30 days.
    static func tlsProblems(_ tls: DaemonConfig.TLS, own: HostEntry?, source: ConfigSource, now: Date = Date()) -> [ConfigProblem] {
        let inspection: CertificateInspection
        do {
            inspection = try CertificateInspection.inspect(
                caPath: tls.caPath, certificatePath: tls.certificatePath, keyPath: tls.keyPath, hostname: own?.hostname, now: now)
        } catch {
            return [source.problem(error.isAboutCA(tls) ? "tls.ca" : "tls.cert", error.description)]
        }
        func key(_ problem: CertificateProblem) -> String {
            switch problem {
            case .unusable(.keyMismatch), .unusable(.cannotLoad(tls.keyPath, _, _)): "tls.key"
            case .unusable(.cannotLoad(tls.caPath, _, _)): "tls.ca"
            case .expiresSoon(let file, _, _, _) where file == tls.caPath: "tls.ca"
            default: "tls.cert"
            }
        }
        return inspection.problems.map { source.problem(key($0), $0.description) }
            + inspection.warnings.map { source.warning(key($0), $0.description) }
    }

    /// A load source the agent cannot read makes its figure unknown, and the
    /// server is then never chosen as a spare: worth a warning, not a refusal
    /// (the folder may appear once LON-CAPA runs).
    static func loadSourceWarnings(_ agent: DaemonConfig.Agent, requestTimeout: Duration, source: ConfigSource) -> [ConfigProblem] {
        var warnings: [ConfigProblem] = []
        do {
            _ = try LoadAverageFile(path: agent.loadFile).read()
        } catch {
            warnings.append(source.problem("agent.load_file", "\(error): load will be unknown, and this server is never chosen as a spare"))
        }
        do {
            _ = try SessionDirectory(path: agent.sessionsDirectory, activeWindow: agent.activeWindow).activeSessions()
        } catch {
            warnings.append(source.problem("agent.sessions_dir", "\(error): userload will be unknown, and this server is never chosen as a spare"))
        }
        // The application may start after balancerd: a missing handler is a warning, and its commands get con_lost until it listens.
        var info = stat()
        if let handler = agent.handler, stat(handler, &info) != 0 || (info.st_mode & S_IFMT) != S_IFSOCK {
            warnings.append(source.problem("agent.handler", "\(handler) is not a socket (yet): commands for the application are answered con_lost until it listens"))
        }
        if agent.handler != nil, agent.handlerTimeout >= requestTimeout {
            warnings.append(source.problem(
                "agent.handler_timeout", "\(agent.handlerTimeout) is not below links.request_timeout (\(requestTimeout)): a slow handler would reset the peers' links before it is answered con_lost"))
        }
        return warnings.map { problem in
            var warning = problem
            warning.isWarning = true
            return warning
        }
    }

    /// Plain TCP only where no other machine can connect: with `tls.insecure` the
    /// agent's listen address must be loopback too, or any host that reaches it
    /// links without a certificate. Without `agent.listen`, `serve` answers no
    /// links and `balancerd agent` would listen on all addresses: a warning here,
    /// and the agent refuses to start (`AgentDaemon.listenAddress`).
    static func insecureListenProblems(_ config: DaemonConfig, source: ConfigSource) -> [ConfigProblem] {
        guard let listen = config.agent.listen else {
            return [
                source.warning(
                    "tls.insecure",
                    "agent.listen is not set: balancerd agent would listen on all addresses (0.0.0.0:\(config.links.port)) and refuses to with plain TCP; set agent.listen to a loopback address")
            ]
        }
        guard !listen.isLoopback else { return [] }
        return [source.problem("agent.listen", "\(listen) is not a loopback address: with tls.insecure any host that reaches it would link without a certificate (listen on 127.0.0.1 or ::1, or use TLS)")]
    }

    /// The relay sockets' group (`socket_group`, else the daemon's own group)
    /// is every local program allowed to write to a peer: it must not also read
    /// this server's TLS key or write its state (`delayed/` files are sent as
    /// critical messages, `drains.json` drains spares). docs/REFERENCE.md, "Threat model".
    /// Without `socket_group` the group is that of the user running the check.
    static func relayGroupWarnings(_ config: DaemonConfig, source: ConfigSource) -> [ConfigProblem] {
        guard config.relaySockets else { return [] }
        let relayGroup = config.socketGroup?.id ?? getegid()
        let name = config.socketGroup?.name ?? (getgrgid(relayGroup).map { String(cString: $0.pointee.gr_name) } ?? "\(relayGroup)")
        let paths: [(key: String, path: String, bits: mode_t, what: String)] = [
            ("tls.key", config.tls.keyPath, 0o040, "read this server's TLS key"),
            ("state_dir", config.stateDirectory, 0o020, "write its state folder"),
            ("state_dir", config.stateDirectory + "/delayed", 0o020, "drop critical messages into delayed/"),
            ("state_dir", config.stateDirectory + "/drains.json", 0o020, "rewrite drains.json"),
        ]
        return paths.compactMap { key, path, bits, what in
            var info = stat()
            guard !path.isEmpty, stat(path, &info) == 0, info.st_gid == relayGroup, info.st_mode & bits != 0 else { return nil }
            return source.warning(
                key,
                "\(path) is group \(name) with mode \(String(info.st_mode & 0o777, radix: 8)), and the relay sockets belong to that group (socket_group): every local relay client can \(what). Give the relay sockets a group of their own (socket_group: balancerd-relay) or take the group's access away")
        }
    }

    static let protectedHomes = ["/home", "/root", "/run/user"]

    /// Configured paths the shipped unit (`ProtectHome=yes`) would hide from the daemon.
    static func protectHomeWarnings(_ config: DaemonConfig, source: ConfigSource) -> [ConfigProblem] {
        let paths: [(String, String)] = [
            ("hosts_table", config.hostsTablePath), ("state_dir", config.stateDirectory), ("socket_dir", config.socketDirectory),
            ("tls.ca", config.tls.caPath), ("tls.cert", config.tls.certificatePath), ("tls.key", config.tls.keyPath),
            ("agent.sessions_dir", config.agent.sessionsDirectory), ("agent.load_file", config.agent.loadFile),
        ]
        return paths.compactMap { key, path in
            guard let home = protectedHomes.first(where: { path == $0 || path.hasPrefix($0 + "/") }) else { return nil }
            return source.warning(key, "\(path) is under \(home), which the shipped systemd unit hides (ProtectHome=yes): move it, or override ProtectHome in a drop-in")
        }
    }
}

extension TLSError {
    /// True when the failure is about the CA file.
    fileprivate func isAboutCA(_ tls: DaemonConfig.TLS) -> Bool {
        if case .cannotLoad(let file, _, _) = self { return file == tls.caPath }
        return false
    }
}

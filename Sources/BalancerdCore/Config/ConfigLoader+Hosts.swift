import Foundation
import Lonc

// What the config says about the hosts table, checked once both are read:
// this server is in it, the spares, backups and instances are, each once,
// and plain TCP is only asked for where every peer is on loopback.

extension ConfigLoader {
    static func hostsProblems(_ config: DaemonConfig, own: HostEntry?, hosts: HostsTable, source: ConfigSource) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        let hostID = config.hostID
        if !hostID.isEmpty, own == nil {
            problems.append(
                source.problem(
                    "host_id",
                    "'\(hostID)' is not in the hosts table \(config.hostsTablePath) (ids there: \(hosts.ids.prefix(8).joined(separator: ", "))\(hosts.entries.count > 8 ? ", …" : ""))"))
        }
        problems += spareProblems(config, own: own, hosts: hosts, source: source)
        problems += instanceProblems(config, hostID: hostID, hosts: hosts, source: source)
        if config.tls.insecure, let entry = hosts.entries.first(where: { !$0.isLoopback }) {
            problems.append(source.problem("tls.insecure", "plain TCP is refused because peer '\(entry.id)' has the non-loopback address \(entry.address)"))
        }
        return problems
    }

    /// `balancer.spares` and `balancer.backups`: in the table, once across both;
    /// this server itself, or one in another domain with `same_domain`, is a warning.
    private static func spareProblems(_ config: DaemonConfig, own: HostEntry?, hosts: HostsTable, source: ConfigSource) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        var seen = Set<String>()
        for (key, ids) in [("balancer.spares", config.balancer.spares), ("balancer.backups", config.balancer.backups)] {
            for spare in ids {
                if !seen.insert(spare).inserted {
                    let note = config.balancer.spares.contains(spare) && key == "balancer.backups" ? " (it is already in balancer.spares)" : ""
                    problems.append(source.problem(key, "'\(spare)' is listed twice\(note)"))
                } else if spare == config.hostID {
                    // One config shared by every server (host_id from the environment) lists them all.
                    problems.append(source.warning(key, "'\(spare)' is this server itself (host_id); it is skipped"))
                } else if let entry = hosts[spare] {
                    if config.balancer.sameDomain, let own, entry.domain != own.domain {
                        problems.append(source.warning(key, "'\(spare)' is in domain \(entry.domain), not \(own.domain): with same_domain it is never chosen"))
                    }
                } else {
                    problems.append(source.problem(key, "'\(spare)' is not in the hosts table \(config.hostsTablePath)"))
                }
            }
        }
        return problems
    }

    /// The TLS files: all three named (unless insecure), readable, and, when
    /// they are, loaded and checked as `serve` loads them (`tlsProblems`).
    static func tlsFileProblems(_ tls: DaemonConfig.TLS, own: HostEntry?, source: ConfigSource) -> [ConfigProblem] {
        guard !tls.insecure else { return [] }
        if tls.caPath.isEmpty, tls.certificatePath.isEmpty, tls.keyPath.isEmpty {
            return [source.problem("tls.ca", "missing: mutual TLS needs tls.ca, tls.cert and tls.key (or tls.insecure: true on loopback)")]
        }
        var problems: [ConfigProblem] = []
        for (key, path) in [("tls.ca", tls.caPath), ("tls.cert", tls.certificatePath), ("tls.key", tls.keyPath)] {
            if path.isEmpty {
                problems.append(source.problem(key, "missing: mutual TLS needs tls.ca, tls.cert and tls.key"))
            } else if !FileManager.default.isReadableFile(atPath: path) {
                let exists = FileManager.default.fileExists(atPath: path)
                problems.append(source.problem(key, exists ? "\(path) is not readable" : "\(path) does not exist (make one with `balancerd certs`)"))
            }
        }
        return problems.isEmpty ? tlsProblems(tls, own: own, source: source) : problems
    }

    /// `balancer.instances`: each in the hosts table, once; and an agent to receive the others' drains.
    static func instanceProblems(_ config: DaemonConfig, hostID: String, hosts: HostsTable, source: ConfigSource) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        var seen = Set<String>()
        for id in config.balancer.instances {
            if !seen.insert(id).inserted {
                problems.append(source.problem("balancer.instances", "'\(id)' is listed twice"))
            } else if hosts[id] == nil {
                problems.append(source.problem("balancer.instances", "'\(id)' is not in the hosts table \(config.hostsTablePath)"))
            }
        }
        if config.balancer.instances.contains(where: { $0 != hostID }), config.agent.listen == nil {
            problems.append(
                source.problem(
                    "balancer.instances",
                    "the other instances send their drains to this server's agent, but agent.listen is not set"))
        }
        return problems
    }

}

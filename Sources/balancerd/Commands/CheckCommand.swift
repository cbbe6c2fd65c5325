import ArgumentParser
import BalancerdCore
import Foundation

/// `balancerd check -c FILE`: validate the config and the hosts table it names.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a config file and its hosts table; report every problem at once.",
        discussion: """
            Reads the config (with BALANCERD_* environment overrides applied) and the hosts \
            table it names, and checks every key, every hosts-table line, that host_id and \
            the spares are in the table, and that tls.insecure is only used when every peer \
            is on loopback. Loads the TLS set-up as serve does: the key must belong to the \
            certificate, the certificate must be issued by tls.ca and name host_id's \
            hostname from the hosts table.

            Warns (without failing) when the certificate or the CA expires within 30 days, \
            when agent.load_file or agent.sessions_dir cannot be read (that figure would be \
            unknown), and when a configured path is under /home, /root or /run/user, which \
            the shipped systemd unit hides (ProtectHome=yes).

            Prints one line per problem, naming the file and line (or the environment \
            variable) and the key, and exits 1; prints a one-line summary and exits 0 when \
            the config is usable. Warnings are printed but do not fail the check.
            """)

    @OptionGroup var config: ConfigOption

    func run() throws {
        do {
            let loaded = try ConfigLoader().load(path: config.path)
            for warning in loaded.warnings { printToStandardError(warning.description) }
            print(Self.summary(loaded))
        } catch {
            for problem in error.problems { printToStandardError(problem.description) }
            let count = error.problems.filter { !$0.isWarning }.count
            printToStandardError("\(config.path): \(count) problem\(count == 1 ? "" : "s") found; nothing was started")
            throw ExitCode(1)
        }
    }

    /// `ok: balancerd.yaml: host msua1 (msu, access) · 4 hosts, 3 peers · mode overflow, 2 spares · http 0.0.0.0:8080 · TLS mutual`
    static func summary(_ loaded: ConfigLoader.Loaded) -> String {
        let config = loaded.config
        let own = loaded.hosts[config.hostID]
        let peers = loaded.hosts.entries.count - 1
        let transport = config.tls.insecure ? "plain TCP (loopback only)" : "TLS mutual"
        let agent = config.agent.listen.map { " · agent \($0)" } ?? ""
        return "ok: \(config.file): host \(config.hostID) (\(own?.domain ?? "?"), \(own?.role ?? "?")) · "
            + "\(loaded.hosts.entries.count) hosts, \(peers) peer\(peers == 1 ? "" : "s") · "
            + "mode \(config.balancer.mode.rawValue), \(config.balancer.spares.count) spare\(config.balancer.spares.count == 1 ? "" : "s") · "
            + "http \(config.http.listen)\(agent) · \(transport)"
    }
}

/// Writes a line to standard error (messages for the operator, not output for scripts).
func printToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

import ArgumentParser
import BalancerdCore
import Foundation

/// `balancerd check-health`: a monitoring plugin (Nagios, Icinga, Checkmk,
/// Monitoring Plugins guidelines) over the running daemon's `/health`, read
/// through the control socket (no HTTP, no `http.status_allow` entry needed).
struct CheckHealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-health",
        abstract: "Monitoring plugin: judge the running balancerd's health (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).",
        discussion: """
            Prints one line, `BALANCERD <STATE> - <summary> | <perfdata>`, with the \
            performance data load, userload, links_down, eligible_spares, delayed, redirects \
            and no_target. CRITICAL whenever /login has no target (it answers 503); the \
            other checks only when their threshold is given (links: a WARNING from one link \
            down unless --warning-links-down says otherwise). UNKNOWN when the daemon \
            cannot be asked. Run it as the user that runs balancerd (the control socket \
            is 0600).
            """)

    @OptionGroup var config: ConfigOption

    @Option(help: ArgumentHelp("The control socket (default: <socket_dir>/control from the config).", valueName: "PATH"))
    var socket: String?

    // Each threshold pair is a HealthCheck.Limits: WARNING at the first, CRITICAL at the second.
    @Option(help: ArgumentHelp("WARNING when this server's effective load is at or above PERCENT.", valueName: "PERCENT")) var warningLoad: Double?
    @Option(help: ArgumentHelp("CRITICAL when this server's effective load is at or above PERCENT.", valueName: "PERCENT")) var criticalLoad: Double?
    @Option(help: ArgumentHelp("WARNING when at least N peer links are not up (0 turns it off).", valueName: "N")) var warningLinksDown: Int = 1
    @Option(help: ArgumentHelp("CRITICAL when at least N peer links are not up.", valueName: "N")) var criticalLinksDown: Int?
    @Option(help: ArgumentHelp("WARNING when fewer than N spares are eligible.", valueName: "N")) var warningEligible: Int?
    @Option(help: ArgumentHelp("CRITICAL when fewer than N spares are eligible.", valueName: "N")) var criticalEligible: Int?

    func run() throws {
        let answer = evaluate()
        print(answer.line)
        throw ExitCode(answer.state.rawValue)
    }

    /// Contradictory options are UNKNOWN (3), as a plugin's bad input should be, and checked here rather than in `validate()`.
    private func evaluate() -> HealthCheck.Answer {
        if let warningLoad, let criticalLoad, warningLoad > criticalLoad {
            return HealthCheck.unknown("--warning-load \(warningLoad) is above --critical-load \(criticalLoad)")
        }
        if [warningLinksDown, criticalLinksDown ?? 0, warningEligible ?? 0, criticalEligible ?? 0].contains(where: { $0 < 0 }) {
            return HealthCheck.unknown("a count threshold is negative")
        }
        let path: String
        do {
            path = try config.controlSocket(socket)
        } catch {
            return HealthCheck.unknown(error.problems.map(\.description).joined(separator: "; "))
        }
        let reply: String
        do {
            reply = try ControlClient.send("status", to: path)
        } catch {
            return HealthCheck.unknown(error.description)
        }
        let health: HealthDocument
        do {
            health = try HealthDocument(json: Data(reply.utf8))
        } catch {
            return HealthCheck.unknown("\(path): the daemon's status is not a /health document: \(reply.prefix(200))")
        }
        let thresholds = HealthCheck.Thresholds(
            load: .init(warning: warningLoad, critical: criticalLoad), linksDown: .init(warning: warningLinksDown == 0 ? nil : warningLinksDown, critical: criticalLinksDown),
            eligible: .init(warning: warningEligible, critical: criticalEligible))
        return HealthCheck(thresholds: thresholds).evaluate(health)
    }
}

import ArgumentParser
import BalancerdCore
import Foundation

/// `balancerd ctl COMMAND`: talk to a running `balancerd serve`.
struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Control a running balancerd through its control socket.",
        discussion: """
            Commands:
              status [--json]         this server, the balancer and every peer as a table
                                      (--json: the /health document, for scripts)
              drain <id> [reason…]    stop sending logins to a spare (kept across restarts)
              undrain <id>            send logins to it again (it rejoins with slow start)
              reconnect [<id>]        retry a given-up link now (all without an id)
              reload                  reload the config and hosts table, as SIGHUP does;
                                      the answer names keys applied and needing a restart

            The socket is <socket_dir>/control from the config (mode 0600: run ctl as the \
            user that runs balancerd), or --socket PATH.
            """)

    @OptionGroup var config: ConfigOption

    @Option(help: ArgumentHelp("The control socket (default: <socket_dir>/control from the config).", valueName: "PATH"))
    var socket: String?

    @Flag(help: "With status: print the /health document as JSON instead of a table.")
    var json = false

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.")
    var command: [String]

    func run() throws {
        // The passthrough argument takes flags after the command too: `ctl --help` and `ctl status --json`.
        if command.first.map({ ["--help", "-h", "help"].contains($0) }) ?? false {
            print(BalancerdCommand.helpMessage(for: Self.self))
            return
        }
        let json = json || command.contains("--json")
        let command = command.filter { $0 != "--json" }
        guard !command.isEmpty else {
            printToStandardError("ctl needs a command: status, drain <id> [reason], undrain <id>, reconnect [<id>], reload")
            throw ExitCode(2)
        }
        let path: String
        do {
            path = try config.controlSocket(socket)
        } catch {
            for problem in error.problems { printToStandardError(problem.description) }
            throw ExitCode(1)
        }
        do {
            // Who asks goes with a drain, for /status: the user behind sudo, else this one.
            let asker = ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"]
                ?? ProcessInfo.processInfo.environment["USER"]
            let line = (command.first == "drain" ? asker.map { ["by=\($0)"] } ?? [] : []) + command
            let reply = try ControlClient.send(line.joined(separator: " "), to: path)
            if command == ["status"], !json, let document = try? HealthDocument(json: Data(reply.utf8)) {
                print(document.table())
            } else {
                print(reply)
            }
            if reply.hasPrefix("error") { throw ExitCode(1) }
        } catch let error as ControlError {
            printToStandardError(error.description)
            throw ExitCode(1)
        }
    }
}

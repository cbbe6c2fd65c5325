import ArgumentParser
import BalancerdCore
import Lonc

/// `balancerd`: the root command and entry point; it only dispatches to subcommands.
@main
struct BalancerdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balancerd",
        abstract: "A load-balancing login redirector and health monitor for a network of servers.",
        discussion: """
            Every server keeps persistent, mutually authenticated TLS links to every other \
            server listed in the hosts table, polls each for its load, and sends every new \
            login (GET /login) to the least busy spare server.

            Start with `balancerd demo` to see it work on this machine, then \
            `balancerd check -c balancerd.yaml` on your own configuration.

            Configuration: a YAML file (see examples/balancerd.yaml); every key can be \
            overridden by an environment variable, BALANCERD_ + the key path in upper case \
            with '_' (links.connect_timeout → BALANCERD_LINKS_CONNECT_TIMEOUT).
            """,
        version: BalancerdVersion.string,
        subcommands: [DemoCommand.self, ServeCommand.self, AgentCommand.self, CheckCommand.self, CheckHealthCommand.self, CtlCommand.self, SelfDrainCommand.self, CertsCommand.self, SimulateCommand.self])

    /// As ArgumentParser's own entry point, but for `check-health`: a monitoring
    /// plugin answers UNKNOWN (exit 3, one status line) whatever goes wrong,
    /// options it cannot parse included (ArgumentParser would exit 64).
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if arguments.first == CheckHealthCommand.configuration.commandName, code != .success, !(error is ExitCode) {
                print(HealthCheck.unknown(message(for: error)).line)
                exit(withError: ExitCode(3))
            }
            exit(withError: error)
        }
    }
}

/// The `-c FILE` option shared by the commands that read a config.
struct ConfigOption: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("config")], help: ArgumentHelp("The balancerd.yaml to read.", valueName: "FILE"))
    var path: String = "/etc/balancerd/balancerd.yaml"

    /// The control socket: `socket` when given, else `<socket_dir>/control` from the config
    /// (read without its TLS files, which a client of the socket does not need).
    func controlSocket(_ socket: String?) throws(ConfigError) -> String {
        if let socket { return socket }
        return try ConfigLoader().loadIgnoringTLSFiles(path: path).config.socketDirectory + "/control"
    }
}

import ArgumentParser
import BalancerdCore
import ServiceLifecycle

/// `balancerd serve -c FILE`: the login redirector and health monitor.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the balancer: peer links, load polling, /login, /status, /health, /metrics.",
        discussion: """
            Keeps a link to every other server in the hosts table, polls each for its load \
            every poll.interval, and answers GET /login on http.listen with a redirect to the \
            least busy eligible spare (or this server, in overflow mode). With agent.listen \
            set it also answers other servers' links, as `balancerd agent` does.

            Signals: HUP reloads the config and hosts table (links that stay are kept), \
            USR1 retries given-up links, TERM and INT stop gracefully.
            """)

    @OptionGroup var config: ConfigOption
    @OptionGroup var logging: LoggingOptions

    @Option(help: ArgumentHelp("Serve the status page's files from this folder instead of the copies built into the binary (for development).", valueName: "DIR"))
    var webRoot: String?

    func run() async throws {
        let loaded = try loadConfigOrExit(config.path)
        let logger = logging.bootstrap(label: "balancerd")
        let daemon: Daemon
        do {
            daemon = try Daemon(loaded: loaded, configPath: config.path, webRoot: webRoot, logger: logger)
        } catch {
            printToStandardError("\(config.path): \(error)")
            throw ExitCode(1)
        }
        try await runUntilTerminated(daemon.services, logger: logger)
    }
}

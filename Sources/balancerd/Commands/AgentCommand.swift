import ArgumentParser
import BalancerdCore
import Logging
import ServiceLifecycle

/// `balancerd agent -c FILE`: the peer side, answering other servers' links.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Answer peer links: the handshake and the load commands (the part of lond balancerd needs).",
        discussion: """
            Listens on agent.listen (default: all addresses on links.port) for links from \
            the other servers in the hosts table, authenticates them (mutual TLS against \
            tls.ca, the client certificate must name a host of the table), and answers \
            ping, load, userload and loadavg. load is 100 × the 1-minute load average of \
            agent.load_file over agent.load_limit; userload is 100 × the files in \
            agent.sessions_dir modified within agent.active_window over agent.user_load_limit; \
            either is `unknown` when its source cannot be read.

            Signals: HUP rereads the config, the hosts table and the certificates (new \
            servers are accepted, links of servers that stay are kept; a bad file is refused), \
            TERM and INT close every link and stop.
            """)

    @OptionGroup var config: ConfigOption
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let loaded = try loadConfigOrExit(config.path)
        let logger = logging.bootstrap(label: "balancerd-agent")
        let services: [any Service]
        do {
            services = try AgentDaemon.services(config: loaded.config, hosts: loaded.hosts, configPath: config.path, logger: logger)
        } catch {
            printToStandardError("\(config.path): \(error)")
            throw ExitCode(1)
        }
        try await runUntilTerminated(services, logger: logger)
    }
}

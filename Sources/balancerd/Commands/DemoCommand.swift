import ArgumentParser
import BalancerdCore
import Foundation
import Logging
import ServiceLifecycle

/// `balancerd demo`: the whole system on this machine's loopback, with no config.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a throwaway cluster on loopback: four agents with changing load and the balancer.",
        discussion: """
            Makes a temporary folder with a hosts table and a config, starts four agents \
            on 127.0.0.1 whose load changes over time (one climbs past 100 %, one drops \
            out and comes back), and runs `balancerd serve` for a fifth server whose own \
            load swings above and below 100 %, so logins overflow to the spares. Prints \
            the URLs to open. Ctrl-C stops everything and removes the folder.
            """)

    @Option(help: "HTTP port for the status page and /login (0 picks a free one).")
    var port: Int = 8080

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap(label: "balancerd-demo")
        let cluster = try DemoCluster(preferredPort: port, logger: logger)
        let loaded = try loadConfigOrExit(cluster.configPath)
        let daemon = try Daemon(loaded: loaded, configPath: cluster.configPath, webRoot: nil, logger: logger)
        let announcer = DemoAnnouncer(daemon: daemon, cluster: cluster)
        try await runUntilTerminated([cluster] + daemon.services + [announcer], logger: logger)
        printToStandardError("demo stopped; removed \(cluster.directory)")
    }
}

/// Prints the URLs once the daemon listens.
struct DemoAnnouncer: Service {
    let daemon: Daemon
    let cluster: DemoCluster

    func run() async throws {
        let port = await daemon.waitUntilReady()
        let base = "http://127.0.0.1:\(port)"
        let message = """

            balancerd demo is running: this server demo1 and four agents on 127.0.0.1.
              status page   \(base)/status
              a login       curl -si \(base)/login | grep -i -e location -e x-balancer
              health JSON   \(base)/health
              decisions     \(base)/decisions
              metrics       \(base)/metrics
              control       \(CommandLine.arguments.first ?? "balancerd") ctl --socket \(cluster.directory)/run/control status
            demo1's own load swings between 70 % and 140 %; demo3 climbs past 100 %;
            demo5 drops out for 20 s every minute. Files: \(cluster.directory)
            Ctrl-C stops it and removes what it made.

            """
        // Unbuffered, so the URLs show at once even when stdout is a pipe.
        FileHandle.standardOutput.write(Data((message + "\n").utf8))
        try? await gracefulShutdown()
    }
}

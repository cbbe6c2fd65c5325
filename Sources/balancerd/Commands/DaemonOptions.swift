import ArgumentParser
import BalancerdCore
import Logging
import ServiceLifecycle

/// Options every long-running command shares.
struct LoggingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Least severe log level written to stderr: trace, debug, info, notice, warning, error, critical.", valueName: "LEVEL"))
    var logLevel: Logger.Level = .info

    /// Sends swift-log to stderr, one line an event; returns the daemon's logger.
    func bootstrap(label: String) -> Logger {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Loads a config for a long-running command, printing every problem and exiting 1 on failure.
func loadConfigOrExit(_ path: String) throws -> ConfigLoader.Loaded {
    do {
        let loaded = try ConfigLoader().load(path: path)
        for warning in loaded.warnings { printToStandardError(warning.description) }
        return loaded
    } catch {
        for problem in error.problems { printToStandardError(problem.description) }
        printToStandardError("\(path): not started; fix the problems above (balancerd check -c \(path) lists them again)")
        throw ExitCode(1)
    }
}

/// Runs services until SIGTERM or SIGINT, then shuts them down gracefully,
/// within `StopDeadline`'s limit even when an event loop is busy.
func runUntilTerminated(_ services: [any Service], logger: Logger) async throws {
    let deadline = StopDeadline(limit: .seconds(5))
    defer { withExtendedLifetime(deadline) {} }
    let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
}

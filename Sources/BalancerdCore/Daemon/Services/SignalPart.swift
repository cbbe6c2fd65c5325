import Logging
import Lonc
import ServiceLifecycle
import UnixSignals

/// SIGHUP reloads the config and hosts table; SIGUSR1 retries every link that
/// is backing off or given up. (SIGTERM and SIGINT are the group's: graceful shutdown.)
struct SignalPart: DaemonPart {
    let control: DaemonControl
    let supervisor: LinkSupervisor
    let logger: Logger

    func start() async throws {}

    func serve() async {
        let signals = await UnixSignalsSequence(trapping: .sighup, .sigusr1)
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .sighup: _ = await control.reloadConfiguration()
            case .sigusr1:
                logger.info("SIGUSR1: retrying every link that is backing off or given up")
                supervisor.retry()
            default: break
            }
        }
    }
}

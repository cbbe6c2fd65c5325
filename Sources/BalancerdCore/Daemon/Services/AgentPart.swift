import Logging
import Lonc

/// Answers other servers' links (the part of lond balancerd needs).
struct AgentPart: DaemonPart {
    let server: AgentServer
    let logger: Logger

    func start() async throws {
        do {
            try await server.start()
        } catch {
            logger.critical("agent cannot listen: \(error)")
            throw error
        }
    }

    func stop() async { await server.stop() }
}

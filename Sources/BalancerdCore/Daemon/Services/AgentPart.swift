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

/// Answers HAProxy's agent checks (`agent.haproxy_listen`).
struct HAProxyAgentPart: DaemonPart {
    let listener: HAProxyAgentListener
    let logger: Logger

    func start() async throws {
        do {
            try await listener.start()
        } catch {
            logger.critical("cannot listen for HAProxy agent checks: \(error)")
            throw error
        }
    }

    func stop() async { await listener.stop() }
}

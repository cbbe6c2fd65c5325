import Logging
import Lonc
import NIOCore

/// A server that listens while the daemon runs.
protocol Listener: Sendable {
    func start() async throws -> SocketAddress
    func stop() async
}

extension AgentServer: Listener {}
extension HAProxyAgentListener: Listener {}

/// Listens from start to stop: the agent (other servers' links, the part of
/// lond balancerd needs) or HAProxy's agent checks (`agent.haproxy_listen`).
/// A port that cannot be bound stops the daemon with a critical line naming it.
struct ListenerPart<Server: Listener>: DaemonPart {
    let server: Server
    /// What it listens for, for the log: "peer links", "HAProxy agent checks".
    let purpose: String
    let logger: Logger

    func start() async throws {
        do {
            _ = try await server.start()
        } catch {
            logger.critical("cannot listen", metadata: ["for": "\(purpose)", "error": "\(error)"])
            throw error
        }
    }

    func stop() async { await server.stop() }
}

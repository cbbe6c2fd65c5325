import Health
import Logging
import Lonc
import NIOPosix
import ServiceLifecycle

/// `balancerd agent`: the agent alone (no links, no HTTP), as the services of one group.
public enum AgentDaemon {
    /// The event loop, the agent and (with `agent.haproxy_listen`) the HAProxy agent-check port, in start order.
    /// The agent listens on `agent.listen`, or on all addresses at `links.port`.
    public static func services(config: DaemonConfig, hosts: HostsTable, logger: Logger) throws -> [any Service] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let listen = config.agent.listen ?? ListenAddress(host: "0.0.0.0", port: config.links.port)
        let local = LocalLoad(config: config)
        let server = AgentServer(
            settings: AgentSettings(config: config, listen: listen, local: local), hosts: { hosts },
            transport: try config.tls.transport(), group: group, logger: logger)
        let loop = StartGate()
        let agentStarted = StartGate()
        var services: [any Service] = [
            PartService(part: EventLoopPart(group: group, logger: logger), after: nil, started: loop),
            PartService(part: AgentPart(server: server, logger: logger), after: loop, started: agentStarted),
        ]
        if let haproxy = config.agent.haproxyListen {
            let selfDrain = SelfDrain(stateDirectory: config.stateDirectory)
            let maxLoad = config.balancer.maxLoad
            let listener = HAProxyAgentListener(host: haproxy.host, port: haproxy.port, group: group, logger: logger) {
                HAProxyAgentAnswer(
                    loadPercent: local.loadPercent(), userLoadPercent: local.userLoadPercent(),
                    drained: selfDrain.reason() != nil, maxLoad: maxLoad
                ).line
            }
            services.append(PartService(part: HAProxyAgentPart(listener: listener, logger: logger), after: agentStarted, started: StartGate()))
        }
        return services
    }
}

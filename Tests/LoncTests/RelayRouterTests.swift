import Foundation
import Logging
import Testing
import TestSupport
import Lonc

/// `RelayRouter` wired as the daemon wires it (a listener of the links'
/// supervisor), against a scripted peer on loopback that answers `con_lost`
/// to every critical message; the router's clock is a parameter.
@Suite("the relay router's replay and backoff against a scripted peer", .serialized)
struct RelayRouterTests {
    final class Rig: Sendable {
        let clock = Locked(0.0)
        let state: String
        let router: RelayRouter
        let supervisor: LinkSupervisor
        let port: Int

        static let group = AgentFixture.group
        static let settings = LinkSettings(
            connectTimeout: .seconds(2), requestTimeout: .seconds(5), keepalive: .seconds(60), maxAttempts: 1000,
            backoffInitial: .milliseconds(20), backoffMax: .milliseconds(50), requestIDs: false)

        /// The peer `b1` at a port nothing listens on yet.
        init() async throws {
            state = FileManager.default.temporaryDirectory.appendingPathComponent("balancerd-router-\(UUID().uuidString)").path
            var logger = Logger(label: "router")
            logger.logLevel = .critical
            let clock = clock
            router = RelayRouter(queue: try DelayedQueue(stateDirectory: state, logger: logger), maxLine: 4096, logger: logger, now: { clock.withLock { $0 } })
            port = try freeLoopbackPort()
            supervisor = LinkSupervisor(ownID: "a1", settings: Self.settings, transport: PlainTransport(), group: Self.group, logger: logger, listeners: [router])
            await supervisor.update(hosts: HostsTable(entries: [HostEntry(id: "b1", domain: "t", role: "access", hostname: "b1.localhost", address: "127.0.0.1", port: port)]))
            router.setLinks(supervisor.all)
        }

        func send(_ step: Int) async -> String {
            await router.handle(peer: "b1", line: "critical:store:\(step)", from: .localClient)
        }

        func stop() async {
            await supervisor.shutdown()
            try? FileManager.default.removeItem(atPath: state)
        }
    }

    /// Critical lines the peer was sent (every try of every message).
    static func tries(_ agent: ScriptedAgent) -> Int { agent.received.count { $0.hasPrefix("critical:") } }

    /// Issue 26: every stored message changed the link's status (its delayed
    /// count), whose observer replayed and reset the backoff, so a peer that
    /// kept answering con_lost was tried once per message, for ever.
    @Test("a link-up replays at once; under a steady stream of messages the con_lost backoff grows (tries at 0, 0.5, 1.5, 3.5 s); the next link-up starts it afresh")
    func backoffGrowsUnderAStream() async throws {
        let rig = try await Rig()
        defer { Task { await rig.stop() } }
        #expect(await rig.send(0) == WireReply.delayed, "the link is down: kept on disk")
        let agent = try ScriptedAgent(id: "b1", port: rig.port) { line in
            line.hasPrefix("critical:") ? WireReply.connectionLost : line == "twice" ? "ok\nok" : "ok"
        }
        #expect(await eventually(timeout: .seconds(30)) { Self.tries(agent) == 1 && rig.router.backoffFailures(peer: "b1") == 1 }, "the link-up replayed message 0")

        // One message every 0.1 s of the router's clock for 6 s.
        for step in 1..<60 {
            rig.clock.withLock { $0 = Double(step) / 10 }
            #expect(await rig.send(step) == WireReply.delayed)
        }
        #expect(Self.tries(agent) == 4, "tried at 0, 0.5, 1.5 and 3.5 s, not once per message")
        #expect(rig.router.backoffFailures(peer: "b1") == 4)
        #expect(rig.router.waiting(peer: "b1") == 60)

        // A peer answering twice is a stray line: the link resets, comes up again, and is replayed at once.
        _ = await rig.router.handle(peer: "b1", line: "twice", from: .localClient)
        #expect(
            await eventually(timeout: .seconds(30)) { Self.tries(agent) == 5 && rig.router.backoffFailures(peer: "b1") == 1 },
            "the link-up replayed without waiting out the backoff, and started it afresh: \(Self.tries(agent)) tries, backoff \(rig.router.backoffFailures(peer: "b1"))")
    }
}

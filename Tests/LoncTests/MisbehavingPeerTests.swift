import Testing
import TestSupport
@testable import Lonc

/// Peers that break the protocol after a good handshake. Whatever they do, a
/// reply is never matched to the wrong request, the link resets and comes back,
/// and our memory stays bounded by `max_line`.
@Suite("misbehaving peers")
struct MisbehavingPeerTests {
    @Test("a peer that answers twice: the first answer is delivered, the extra line resets the link")
    func answersTwice() async throws {
        let agent = try ScriptedAgent(id: "agent1") { line in line == "ping" ? "agent1\nagent1 again" : "reply to \(line)" }
        // `ping` is also the keepalive word: with the fast 100 ms keepalive, a test
        // stalled that long saw a keepalive ping reset the link (and flap it) before
        // its own ping; 3 runs in 10 failed so, before and after the link refactor.
        var settings = AgentFixture.fastSettings
        settings.keepalive = .seconds(60)
        try await AgentFixture.withLink(to: agent.port, settings: settings) { link in
            #expect(await link.request("ping") == "agent1")
            #expect(await eventually { link.status.lastError?.contains("with no request outstanding") == true })
            #expect(await eventually { link.status.state == .up && agent.connections >= 2 })
            #expect(await link.request("load") == "reply to load")
        }
    }

    @Test("a peer that answers with a line over max_line: con_lost, the link resets, our buffer never grows past the limit")
    func overLongAnswer() async throws {
        let agent = try ScriptedAgent(id: "agent1") { line in line == "load" ? String(repeating: "9", count: 200_000) : "reply to \(line)" }
        try await AgentFixture.withLink(to: agent.port) { link in
            #expect(await link.request("load") == "con_lost")
            #expect(await eventually { link.status.lastError?.contains("line longer than 1024 bytes") == true })
            #expect(await eventually { link.status.state == .up })
            #expect(await link.request("userload") == "reply to userload")
        }
    }

    @Test("a peer that answers with bytes that are not UTF-8 or text: the caller gets them as a string, the link stays up")
    func binaryAnswer() async throws {
        let agent = try ScriptedAgent(id: "agent1") { line in line == "load" ? "\u{1}\u{7F}\u{FFFD}\t\r garbage" : "reply to \(line)" }
        try await AgentFixture.withLink(to: agent.port) { link in
            // The CR before LF is framing; everything else reaches the poller, which reads it as "not a number".
            let reply = await link.request("load")
            #expect(reply == "\u{1}\u{7F}\u{FFFD}\t\r garbage")
            #expect(Double(reply) == nil)
            #expect(await link.request("ping") == "reply to ping")
            #expect(link.status.attempts == 0)
        }
    }

    @Test("a peer that trickles one byte a second: the request times out with con_lost instead of waiting on it")
    func tricklesSlowly() async throws {
        let agent = try ScriptedAgent(id: "agent1", byteInterval: 1.0) { line in "0.50" }
        try await AgentFixture.withLink(to: agent.port) { link in
            #expect(await link.request("load") == "con_lost")
            #expect(await eventually { link.status.lastError?.contains("no reply within") == true })
        }
    }

    @Test("a peer that trickles fast enough: the reply is put back together from one-byte pieces")
    func tricklesWithinTimeout() async throws {
        let agent = try ScriptedAgent(id: "agent1", byteInterval: 0.005) { line in "0.50" }
        var settings = AgentFixture.fastSettings
        settings.requestTimeout = .seconds(10)
        try await AgentFixture.withLink(to: agent.port, settings: settings) { link in
            #expect(await link.request("load") == "0.50")
            #expect(await link.request("userload") == "0.50")
        }
    }

    // MARK: With request ids: the same faults, and every caller gets its own figure.

    /// A peer that accepts ids, whose `answer` sees each tagged line; `held` keeps one request's id for later.
    static func taggedAgent(_ answer: @escaping @Sendable (_ id: UInt64, _ command: String, _ held: Locked<UInt64?>) -> String?) throws -> ScriptedAgent {
        let held = Locked<UInt64?>(nil)
        return try ScriptedAgent(id: "agent1", acceptsRequestIDs: true) { line in
            guard let tagged = WireRequestID.parse(line) else { return nil }
            return answer(tagged.id, tagged.text, held)
        }
    }

    /// A peer with ids that holds `load` unanswered and, when `trigger` comes,
    /// writes `lines(load's id, trigger's id)`; anything else gets `reply to <command>`.
    static func holdingLoad(until trigger: String, _ lines: @escaping @Sendable (_ load: UInt64, _ id: UInt64) -> String) throws -> ScriptedAgent {
        try taggedAgent { id, command, held in
            switch command {
            case "load":
                held.withLock { $0 = id }
                return nil
            case trigger: return lines(held.withLock { $0 } ?? 0, id)
            default: return "#\(id) reply to \(command)"
            }
        }
    }

    /// A link with a 60 s keepalive (no ping between the test's requests) to `agent`, up, tagging requests.
    /// The request timeout leaves room for the test's own steps on a busy machine
    /// (the matcher now times a request out at its deadline, not up to a quarter later).
    static func upLink(to agent: ScriptedAgent, requestTimeout: Duration = .seconds(1)) async -> PeerLink {
        var settings = AgentFixture.fastSettings
        settings.keepalive = .seconds(60)
        settings.requestTimeout = requestTimeout
        let link = AgentFixture.link(to: agent.port, settings: settings)
        link.start()
        _ = await eventually { link.status.state == .up }
        return link
    }

    @Test("with ids, a peer that answers twice while another request waits: each gets its own figure, the extra line is dropped and counted")
    func answersTwiceWithIDs() async throws {
        let agent = try Self.holdingLoad(until: "userload") { load, id in "#\(load) 37.50\n#\(load) 99.99\n#\(id) 12.00" }
        // Nothing here should time out: the load waits for the test's next step, however busy the machine.
        let link = await Self.upLink(to: agent, requestTimeout: .seconds(60))
        defer { Task { await link.shutdown() } }
        #expect(link.status.requestIDs == true)
        async let load = link.request("load")
        #expect(await eventually { agent.received.count == 1 }, "the agent holds load before the next request")
        async let userload = link.request("userload")
        #expect(await load == "37.50")
        #expect(await userload == "12.00", "without ids the doubled 99.99 was taken as userload's figure")
        #expect(await eventually { link.traffic.strayRepliesTotal == 1 })
        #expect(await link.request("loadavg") == "reply to loadavg")
        #expect(link.status.state == .up && link.status.attempts == 0 && agent.connections == 1)
    }

    @Test("with ids, a reply that comes after its request timed out is dropped and counted; the next request gets its own, the link stays up")
    func answersLateWithIDs() async throws {
        let agent = try Self.holdingLoad(until: "loadavg") { load, id in "#\(load) 37.50\n#\(id) 0.75 0.50 0.25" }
        let link = await Self.upLink(to: agent)
        defer { Task { await link.shutdown() } }
        async let load = link.request("load")
        #expect(await eventually { agent.received.count == 1 }, "the agent holds load before the next request")
        // The peer answers this one, so it is alive: the unanswered load alone gets con_lost.
        #expect(await link.request("userload") == "reply to userload")
        #expect(await load == "con_lost")
        #expect(await link.request("loadavg") == "0.75 0.50 0.25")
        #expect(await eventually { link.traffic.strayRepliesTotal == 1 })
        #expect(link.status.state == .up && link.status.lastError == nil && agent.connections == 1)
    }

    @Test("with ids, a peer that answers out of order: each request gets its own figure")
    func answersOutOfOrderWithIDs() async throws {
        let agent = try Self.holdingLoad(until: "userload") { load, id in "#\(id) 12.00\n#\(load) 37.50" }
        let link = await Self.upLink(to: agent, requestTimeout: .seconds(60))
        defer { Task { await link.shutdown() } }
        async let load = link.request("load")
        #expect(await eventually { agent.received.count == 1 }, "the agent holds load before the next request")
        async let userload = link.request("userload")
        #expect(await load == "37.50")
        #expect(await userload == "12.00")
        #expect(link.traffic.strayRepliesTotal == 0)
        #expect(link.status.state == .up && agent.connections == 1)
    }

    @Test("with ids, a peer silent for the request timeout still resets the link")
    func silentWithIDs() async throws {
        let agent = try Self.taggedAgent { id, command, _ in command == "load" ? nil : "#\(id) reply to \(command)" }
        let link = await Self.upLink(to: agent)
        defer { Task { await link.shutdown() } }
        #expect(await link.request("load") == "con_lost")
        #expect(await eventually { link.status.lastError?.contains("no reply within") == true })
        #expect(await eventually { link.status.state == .up && agent.connections >= 2 })
        #expect(await link.request("userload") == "reply to userload")
    }
}

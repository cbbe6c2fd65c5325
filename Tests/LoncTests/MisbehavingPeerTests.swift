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
        let link = AgentFixture.link(to: agent.port, settings: settings)
        link.start()
        defer { Task { await link.shutdown() } }
        #expect(await eventually { link.status.state == .up })
        #expect(await link.request("ping") == "agent1")
        #expect(await eventually { link.status.lastError?.contains("with no request outstanding") == true })
        #expect(await eventually { link.status.state == .up && agent.connections >= 2 })
        #expect(await link.request("load") == "reply to load")
    }

    @Test("a peer that answers with a line over max_line: con_lost, the link resets, our buffer never grows past the limit")
    func overLongAnswer() async throws {
        let agent = try ScriptedAgent(id: "agent1") { line in line == "load" ? String(repeating: "9", count: 200_000) : "reply to \(line)" }
        let link = AgentFixture.link(to: agent.port)
        link.start()
        defer { Task { await link.shutdown() } }
        #expect(await eventually { link.status.state == .up })
        #expect(await link.request("load") == "con_lost")
        #expect(await eventually { link.status.lastError?.contains("line longer than 1024 bytes") == true })
        #expect(await eventually { link.status.state == .up })
        #expect(await link.request("userload") == "reply to userload")
    }

    @Test("a peer that answers with bytes that are not UTF-8 or text: the caller gets them as a string, the link stays up")
    func binaryAnswer() async throws {
        let agent = try ScriptedAgent(id: "agent1") { line in line == "load" ? "\u{1}\u{7F}\u{FFFD}\t\r garbage" : "reply to \(line)" }
        let link = AgentFixture.link(to: agent.port)
        link.start()
        defer { Task { await link.shutdown() } }
        #expect(await eventually { link.status.state == .up })
        // The CR before LF is framing; everything else reaches the poller, which reads it as "not a number".
        let reply = await link.request("load")
        #expect(reply == "\u{1}\u{7F}\u{FFFD}\t\r garbage")
        #expect(Double(reply) == nil)
        #expect(await link.request("ping") == "reply to ping")
        #expect(link.status.attempts == 0)
    }

    @Test("a peer that trickles one byte a second: the request times out with con_lost instead of waiting on it")
    func tricklesSlowly() async throws {
        let agent = try ScriptedAgent(id: "agent1", byteInterval: 1.0) { line in "0.50" }
        let link = AgentFixture.link(to: agent.port)
        link.start()
        defer { Task { await link.shutdown() } }
        #expect(await eventually { link.status.state == .up })
        #expect(await link.request("load") == "con_lost")
        #expect(await eventually { link.status.lastError?.contains("no reply within") == true })
    }

    @Test("a peer that trickles fast enough: the reply is put back together from one-byte pieces")
    func tricklesWithinTimeout() async throws {
        let agent = try ScriptedAgent(id: "agent1", byteInterval: 0.005) { line in "0.50" }
        var settings = AgentFixture.fastSettings
        settings.requestTimeout = .seconds(10)
        let link = AgentFixture.link(to: agent.port, settings: settings)
        link.start()
        defer { Task { await link.shutdown() } }
        #expect(await eventually { link.status.state == .up })
        #expect(await link.request("load") == "0.50")
        #expect(await link.request("userload") == "0.50")
    }
}

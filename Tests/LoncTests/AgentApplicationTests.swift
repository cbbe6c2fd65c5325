import Foundation
import Logging
import Testing
@testable import Lonc

/// An application that answers `slow:<ms>` after that long, `store:<x>` with
/// `ok`, and notes what it was asked, by whom, and how many at once.
actor RecordingApplication: AgentApplication {
    private(set) var asked: [(command: String, peer: String, id: String?)] = []
    private(set) var mostAtOnce = 0
    private var now = 0

    func answer(_ command: String, from peer: String, messageID: String?) async -> String {
        now += 1
        mostAtOnce = max(mostAtOnce, now)
        defer { now -= 1 }
        asked.append((command, peer, messageID))
        if command.hasPrefix("slow:"), let milliseconds = Int(command.dropFirst(5)) {
            try? await Task.sleep(for: .milliseconds(milliseconds))
            return "slow-done"
        }
        return command.hasPrefix("store:") ? "ok" : "unknown_cmd"
    }
}

@Suite("the agent hands the commands it does not own to the application")
struct AgentApplicationTests {
    @Test("replies keep the commands' order while the application is slower than the agent; it gets the peer and the critical id, one command at a time")
    func ordered() async throws {
        let application = RecordingApplication()
        let (agent, port) = try await AgentFixture.agent(application: application)
        defer { Task { await agent.stop() } }
        let client = try RawLineClient(port: port)
        _ = await client.handshake(agentID: "agent1")
        client.send("slow:200\nping\ncritical:000000000001.000000001.agent1:store:x\nslow:50\nload\nnope\ncritical:broken\nexit\n")
        var replies: [String?] = []
        for _ in 0..<8 { replies.append(await client.readLine()) }
        #expect(replies == ["slow-done", "agent1", "ok", "slow-done", "37.50", "unknown_cmd", "error:malformed_critical", "bye"])
        #expect(await client.isClosedByPeer())
        let asked = await application.asked
        #expect(asked.map(\.command) == ["slow:200", "store:x", "slow:50", "nope"])
        #expect(asked.map(\.peer) == Array(repeating: "client1", count: 4))
        #expect(asked.map(\.id) == [nil, "000000000001.000000001.agent1", nil, nil])
        #expect(await application.mostAtOnce == 1)
    }

    @Test("without an application every command the agent does not own, critical ones too, is unknown_cmd")
    func withoutApplication() async throws {
        let (agent, client) = try await AgentFixture.rawClient()
        defer { Task { await agent.stop() } }
        _ = await client.handshake(agentID: "agent1")
        client.send("critical:1.agent1:store:x\nstore:y\nping\n")
        #expect([await client.readLine(), await client.readLine(), await client.readLine()] == ["unknown_cmd", "unknown_cmd", "agent1"])
    }
}

@Suite("critical messages on the wire and what a reply means")
struct CriticalMessageTests {
    @Test("critical:<id>:<cmd>: the id is the file name with %, : and blanks encoded; the command may hold colons")
    func wireForm() {
        let message = CriticalMessage(fileName: "000001764019200.000000042.msua2", command: "store:hw:1")
        #expect(message.line == "critical:000001764019200.000000042.msua2:store:hw:1")
        #expect(CriticalMessage(line: message.line) == message)
        #expect(CriticalMessage(fileName: "a b:c%d.msua2", command: "x").id == "a%20b%3Ac%25d.msua2")
        for bad in ["critical:", "critical:id", "critical::cmd", "critical:id:", "critical:a b:cmd", "store:x"] {
            #expect(CriticalMessage(line: bad) == nil, "\(bad)")
        }
    }

    @Test("delivered, refused or not sent, by reply")
    func verdicts() {
        let table: [(String, DeliveryVerdict)] = [
            ("ok", .delivered), ("agent1", .delivered), ("", .delivered), ("con_lost", .notSent),
            ("unknown_cmd", .rejected), ("refused", .rejected), ("con_failed", .rejected), ("con_delayed", .rejected),
            ("error:wrong_host", .rejected), ("error:malformed_critical", .rejected),
        ]
        for (reply, verdict) in table { #expect(DeliveryVerdict(reply: reply) == verdict, "\(reply)") }
    }

    @Test("after con_lost: 0.5 s, doubling to 30 s")
    func backoff() {
        var backoff = ReplayBackoff()
        #expect(backoff.isDue(at: 0))
        var delays: [Double] = []
        for _ in 0..<9 {
            backoff.lost(at: 100)
            delays.append((backoff.retryAt ?? 0) - 100)
        }
        #expect(delays == [0.5, 1, 2, 4, 8, 16, 30, 30, 30])
        #expect(!backoff.isDue(at: 129.9) && backoff.isDue(at: 130))
    }

    @Test("replies finishing out of order come out in request order")
    func orderedReplies() {
        var replies = OrderedReplies<String>()
        let (a, b, c) = (replies.open(), replies.open(), replies.open())
        #expect(replies.finish(c, "c") == [])
        #expect(replies.finish(a, "a") == ["a"])
        #expect(replies.outstanding == 2)
        #expect(replies.finish(b, "b") == ["b", "c"])
        #expect(replies.outstanding == 0)
    }
}

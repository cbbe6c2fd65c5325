import Testing
@testable import Lonc

/// An application whose first command cannot finish before its second one has
/// started: the agent must still reply in the order the commands came.
private actor Gate {
    private var opened = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if opened { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func open() {
        opened = true
        for continuation in waiting { continuation.resume() }
        waiting = []
    }
}

private struct GatedApplication: AgentApplication {
    let gate = Gate()

    func answer(_ command: String, from peer: String, messageID: String?) async -> String {
        switch command {
        case "first":
            await gate.wait()
            return "first from \(peer)"
        case "second":
            await gate.open()
            return "second"
        default:
            return WireReply.unknownCommand
        }
    }
}

@Suite("the agent hands the commands it does not own to an application")
struct AgentApplicationTests {
    @Test("replies keep the commands' order even when the application finishes a later command first")
    func repliesInOrder() async throws {
        let (agent, port) = try await AgentFixture.agent(application: GatedApplication())
        defer { Task { await agent.stop() } }
        let client = try RawLineClient(port: port)
        _ = client.handshake(agentID: "agent1")
        client.send("first\nping\nsecond\nload\nother\nexit\n")
        #expect(client.readLine() == "first from client1")
        #expect(client.readLine() == "agent1")
        #expect(client.readLine() == "second")
        #expect(client.readLine() == "37.50")
        #expect(client.readLine() == "unknown_cmd")
        #expect(client.readLine() == "bye")
        #expect(client.isClosedByPeer())
    }
}

import Foundation
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import Lonc

@Suite("the agent's side of the wire protocol")
struct AgentProtocolTests {
    @Test("handshake, then every command")
    func everyCommand() async throws {
        let (agent, client) = try await AgentFixture.rawClient()
        defer { Task { await agent.stop() } }
        let handshake = await client.handshake(agentID: "agent1")
        #expect(handshake[0]?.count == 32)
        #expect(handshake[0]?.allSatisfy(\.isHexDigit) == true)
        #expect(Array(handshake[1...]) == ["ok", "ok", "version:\(WireProtocol.version)"])
        for (command, reply) in [("ping", "agent1"), ("load", "37.50"), ("userload", "12.00"), ("loadavg", "0.75 0.50 0.25"), ("frobnicate", "unknown_cmd")] {
            client.send(command + "\r\n")
            #expect(await client.readLine() == reply, "\(command)")
        }
        client.send("exit\n")
        #expect(await client.readLine() == "bye")
        #expect(await client.isClosedByPeer())
    }

    @Test("every command before the handshake is refused")
    func beforeHandshake() async throws {
        let (agent, client) = try await AgentFixture.rawClient()
        defer { Task { await agent.stop() } }
        for command in ["load", "ping", "sethost:agent1", "exit"] {
            client.send(command + "\n")
            #expect(await client.readLine() == "refused")
        }
    }

    @Test("a wrong challenge echo is refused and closed")
    func wrongEcho() async throws {
        let (agent, client) = try await AgentFixture.rawClient()
        defer { Task { await agent.stop() } }
        client.send("init\n")
        #expect(await client.readLine()?.count == 32)
        client.send("00000000000000000000000000000000\n")
        #expect(await client.readLine() == "refused")
        #expect(await client.isClosedByPeer())
    }

    @Test("sethost with another id is answered error:wrong_host")
    func wrongHost() async throws {
        let (agent, client) = try await AgentFixture.rawClient()
        defer { Task { await agent.stop() } }
        client.send("init\n")
        client.send((await client.readLine() ?? "") + "\n")
        #expect(await client.readLine() == "ok")
        client.send("sethost:someone-else\n")
        #expect(await client.readLine() == "error:wrong_host")
    }

    @Test("an over-long line is answered error:line_too_long and closed; the agent serves on")
    func overLong() async throws {
        let (agent, port) = try await AgentFixture.agent(maxLine: 1024)
        defer { Task { await agent.stop() } }
        let client = try RawLineClient(port: port)
        _ = await client.handshake(agentID: "agent1")
        client.send(String(repeating: "x", count: 5000))
        #expect(await client.readLine() == "error:line_too_long")
        #expect(await client.isClosedByPeer())
        let other = try RawLineClient(port: port)
        #expect(await other.handshake(agentID: "agent1")[1] == "ok")
    }

    @Test("random bytes after the handshake: the agent answers or closes, and serves others")
    func randomBytes() async throws {
        let (agent, port) = try await AgentFixture.agent(maxLine: 1024)
        defer { Task { await agent.stop() } }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let client = try RawLineClient(port: port)
            _ = await client.handshake(agentID: "agent1")
            client.send(bytes: (0..<Int.random(in: 1...3000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            client.send("\nping\n")
        }
        let healthy = try RawLineClient(port: port)
        _ = await healthy.handshake(agentID: "agent1")
        healthy.send("ping\n")
        #expect(await healthy.readLine() == "agent1")
    }

    @Test("a client that never finishes init is dropped after the handshake timeout")
    func silentClient() async throws {
        let (agent, port) = try await AgentFixture.agent(handshakeTimeout: .milliseconds(200))
        defer { Task { await agent.stop() } }
        let client = try RawLineClient(port: port)
        #expect(await client.isClosedByPeer())
    }

    @Test("the line framer drops CR, keeps empty lines, and bounds a line without LF")
    func framer() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(maximumLength: 8)))
        var buffer = channel.allocator.buffer(capacity: 32)
        buffer.writeString("load\r\n\nuser")
        try channel.writeInbound(buffer)
        #expect(try channel.readInbound(as: String.self) == "load")
        #expect(try channel.readInbound(as: String.self) == "")
        #expect(try channel.readInbound(as: String.self) == nil)
        buffer.clear()
        buffer.writeString("load\n")
        try channel.writeInbound(buffer)
        #expect(try channel.readInbound(as: String.self) == "userload")
        buffer.clear()
        buffer.writeString(String(repeating: "x", count: 20))
        #expect(throws: LineTooLong.self) { try channel.writeInbound(buffer) }
    }
}

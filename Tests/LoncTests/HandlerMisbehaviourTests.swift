import Foundation
import Logging
import NIOCore
import Testing
import TestSupport
@testable import Lonc

/// A handler that breaks the contract on request (`Tests/tools/misbehaving-handler.py`),
/// its journal ("<connection> <line>" per request received), and its folder.
final class MisbehavingHandler {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/misbehaving-handler.py").path

    let folder: String
    let socket: String
    let journal: String
    private let process: Process

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("balancerd-handler-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        socket = folder + "/handler.sock"
        journal = folder + "/journal"
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.script, socket, journal]
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Waits until it listens.
    func listening() async -> Bool {
        let socket = socket
        return await eventually { FileManager.default.fileExists(atPath: socket) }
    }

    /// The requests received, as "<connection number> <request line>".
    var received: [String] {
        ((try? String(contentsOfFile: journal, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Lets the held request be answered.
    func release() { _ = FileManager.default.createFile(atPath: journal + ".release", contents: nil) }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: folder)
    }
}

@Suite("the client of agent.handler against a handler that breaks the contract", .serialized)
struct HandlerMisbehaviourTests {
    func client(_ handler: MisbehavingHandler, connections: Int = 1, maxLine: Int = 1024, log: CapturedLog = CapturedLog()) -> HandlerSocketClient {
        HandlerSocketClient(
            path: handler.socket, timeout: .seconds(5), connections: connections, maxLine: maxLine, group: AgentFixture.group,
            logger: Logger(label: "handler") { _ in log })
    }

    @Test("a second line for one request closes the connection: the next request gets its own reply on a new one, with a log line")
    func secondLineClosesTheConnection() async throws {
        let handler = try MisbehavingHandler()
        try #require(await handler.listening())
        let log = CapturedLog()
        let client = client(handler, log: log)
        defer { client.close() }
        #expect(await client.answer("double", from: "s1", messageID: nil) == "first")
        #expect(await client.answer("echo:b", from: "s1", messageID: nil) == "b")
        #expect(handler.received == ["1 s1 - double", "2 s1 - echo:b"], "the request after the stray line goes on a new connection")
        #expect(log.messages.contains("application handler sent a line no request waited for; connection closed"))
    }

    @Test("a late line can never reach another peer: a connection carries one peer's commands")
    func lateLineNeverReachesAnotherPeer() async throws {
        let handler = try MisbehavingHandler()
        try #require(await handler.listening())
        let client = client(handler)
        defer { client.close() }
        #expect(await client.answer("late", from: "s1", messageID: nil) == "first")
        #expect(await client.answer("echo:mine", from: "s2", messageID: nil) == "mine", "s2 got s1's late line")
        #expect(handler.received == ["1 s1 - late", "2 s2 - echo:mine"])
    }

    @Test("a reply longer than links.max_line less the tag room is refused, and the connection closed")
    func replyBoundedByMaxLine() async throws {
        let handler = try MisbehavingHandler()
        try #require(await handler.listening())
        let client = client(handler, maxLine: 100)
        defer { client.close() }
        #expect(client.maxReply == 100 - WireRequestID.longestPrefix)
        #expect(await client.answer("long:\(client.maxReply)", from: "s1", messageID: nil) == String(repeating: "x", count: client.maxReply))
        #expect(await client.answer("long:\(client.maxReply + 1)", from: "s1", messageID: nil) == HandlerSocketClient.replyTooLong)
        #expect(await client.answer("echo:after", from: "s1", messageID: nil) == "after")
        #expect(handler.received.map { $0.split(separator: " ").first ?? "" } == ["1", "1", "2"])
    }

    @Test("CR, VT, FF, NEL, U+2028, U+2029 and the other line breaks of str.splitlines in a command never reach the handler")
    func lineBreaksRefused() async throws {
        let handler = try MisbehavingHandler()
        try #require(await handler.listening())
        let client = client(handler)
        defer { client.close() }
        for separator in ["\r", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1D}", "\u{1E}", "\u{85}", "\u{2028}", "\u{2029}", "\r\n"] {
            #expect(await client.answer("echo:a\(separator)b", from: "s1", messageID: nil) == "error:line_contains_newline")
        }
        #expect(await client.answer("echo:plain", from: "s1", messageID: nil) == "plain")
        #expect(handler.received == ["1 s1 - echo:plain"])
    }

    /// The agent hands one client's commands to the application one after another.
    /// A command waiting its turn when its client goes away is never handed over.
    @Test("a command queued behind a slow one from a client that closed never reaches the handler")
    func closedClientsCommandsDropped() async throws {
        let handler = try MisbehavingHandler()
        try #require(await handler.listening())
        let client = client(handler)
        defer { client.close() }
        let (agent, port) = try await AgentFixture.agent(application: client)
        defer { Task { await agent.stop() } }
        let gone = try RawLineClient(port: port)
        _ = await gone.handshake(agentID: "agent1")
        gone.send("hold\necho:late\n")
        #expect(await eventually { handler.received.count == 1 })
        shutdown(gone.descriptor, Int32(SHUT_RDWR))
        #expect(await eventually { agent.clientCount == 0 })
        // Another client's command waits for the one connection; then the held one is answered.
        let other = try RawLineClient(port: port)
        _ = await other.handshake(agentID: "agent1")
        other.send("echo:probe\n")
        #expect(await eventually { client.waitingForConnection == 1 })
        handler.release()
        #expect(await other.readLine() == "probe")
        other.send("echo:probe2\n")
        #expect(await other.readLine() == "probe2")
        #expect(handler.received.map { $0.split(separator: " ", maxSplits: 1).last.map(String.init) ?? "" } == [
            "client1 - hold", "client1 - echo:probe", "client1 - echo:probe2",
        ])
    }
}

@Suite("the handler connection pool")
struct HandlerConnectionPoolTests {
    @Test("a request waits for a slot until its deadline, then gets none; a slot released later goes to the next one")
    func deadline() async {
        let pool = HandlerConnectionPool(size: 1)
        let loop = AgentFixture.group.next()
        let first = await pool.acquire(for: "s1", by: .now() + .seconds(5), on: loop)
        #expect(first == 0)
        let second = await pool.acquire(for: "s1", by: .now() + .milliseconds(50), on: loop)
        #expect(second == nil)
        #expect(pool.waiting == 0)
        pool.release(0)
        #expect(await pool.acquire(for: "s2", by: .now() + .seconds(5), on: loop) == 0)
    }
}

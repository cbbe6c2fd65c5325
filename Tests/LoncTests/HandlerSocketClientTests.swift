import Foundation
import Logging
import Testing
@testable import Lonc

@Suite("the client of agent.handler, against real handler processes", .serialized)
struct HandlerSocketClientTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/handler/store-handler.py").path

    /// Runs python3 with `arguments`; the caller SIGKILLs it.
    func python(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func stop(_ process: Process) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    @Test("sends <peer> <id or -> <command>, returns the reply; no handler, a silent one, or one that went away: con_lost, then it recovers")
    func contract() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("balancerd-handler-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let socket = folder + "/handler.sock"
        let client = HandlerSocketClient(path: socket, timeout: .milliseconds(300), connections: 2, maxLine: 65536, group: AgentFixture.group, logger: Logger(label: "h"))
        defer { client.close() }
        #expect(await client.answer("echo:x", from: "s1", messageID: nil) == "con_lost", "nothing listens")

        // A handler that takes the connection and never answers: con_lost after the timeout.
        let silent = try python(["-c", "import socket,time; s=socket.socket(socket.AF_UNIX); s.bind('\(socket)'); s.listen(8); c=[s.accept() for _ in range(8)]; time.sleep(60)"])
        #expect(await eventually { FileManager.default.fileExists(atPath: socket) })
        #expect(await client.answer("echo:x", from: "s1", messageID: nil) == "con_lost", "silent handler")
        stop(silent)
        unlink(socket)

        // The real handler, through a client whose timeout only a broken handler
        // reaches (a python started on a loaded machine may take seconds): a
        // con_lost here means the contract failed, not that the machine was busy.
        let store = folder + "/store.txt"
        let handler = try python([Self.example, "--socket", socket, "--store", store])
        defer { stop(handler) }
        let patient = HandlerSocketClient(path: socket, timeout: .seconds(30), connections: 2, maxLine: 65536, group: AgentFixture.group, logger: Logger(label: "h"))
        defer { patient.close() }
        // The handler moves its socket into place once it listens.
        #expect(await eventually { FileManager.default.fileExists(atPath: socket) })
        #expect(await patient.answer("echo:hello world", from: "s1", messageID: nil) == "hello world")
        #expect(await patient.answer("store:a", from: "s1", messageID: "1.b1") == "ok")
        #expect(await patient.answer("store:a", from: "s1", messageID: "1.b1") == "ok")
        #expect(await patient.answer("store:b", from: "s2", messageID: nil) == "ok")
        #expect(await patient.answer("frobnicate", from: "s1", messageID: nil) == "unknown_cmd")
        // The first client, whose links failed above, recovers.
        #expect(await eventually { await client.answer("echo:again", from: "s1", messageID: nil) == "again" })
        #expect(try String(contentsOfFile: store, encoding: .utf8) == "1.b1 s1 store:a\n- s2 store:b\n")
        #expect(HandlerSocketClient.requestLine("store:a", from: "s1", messageID: nil) == "s1 - store:a")
    }

    /// Found by review: the example dropped a message whose id it had stored
    /// before whoever sent it, but ids are unique per sender only.
    @Test("the example handler knows a repeat by (peer, id): the same id from another peer is stored, also after a restart")
    func repeatsKeyedByPeerAndID() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("balancerd-handler-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let socket = folder + "/handler.sock", store = folder + "/store.txt"
        let client = HandlerSocketClient(path: socket, timeout: .seconds(5), connections: 2, maxLine: 65536, group: AgentFixture.group, logger: Logger(label: "h"))
        defer { client.close() }
        let first = try python([Self.example, "--socket", socket, "--store", store])
        #expect(await eventually { FileManager.default.fileExists(atPath: socket) })
        #expect(await client.answer("store:from s1", from: "s1", messageID: "1.b1") == "ok")
        #expect(await client.answer("store:from s2", from: "s2", messageID: "1.b1") == "ok")
        #expect(await client.answer("store:from s1 again", from: "s1", messageID: "1.b1") == "ok")
        stop(first)
        unlink(socket)
        client.close()
        // Read back from the store file after a restart: the pairs, not the ids.
        let second = try python([Self.example, "--socket", socket, "--store", store])
        defer { stop(second) }
        #expect(await eventually { FileManager.default.fileExists(atPath: socket) })
        #expect(await client.answer("store:from s2 again", from: "s2", messageID: "1.b1") == "ok")
        #expect(await client.answer("store:from s3", from: "s3", messageID: "1.b1") == "ok")
        #expect(try String(contentsOfFile: store, encoding: .utf8) == "1.b1 s1 store:from s1\n1.b1 s2 store:from s2\n1.b1 s3 store:from s3\n")
    }
}

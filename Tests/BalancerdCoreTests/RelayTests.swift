import Foundation
import TestSupport
import Testing
import BalancerdCore

/// A client of a relay socket: writes lines, reads reply lines.
final class RelayClient: @unchecked Sendable {
    let descriptor: Int32
    private var buffer: [UInt8] = []

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(descriptor) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next line, or nil at close or after the 10 s read deadline; the read blocks a thread of its own (`blocking`).
    func readLine() async -> String? { await blocking { self.readLineNow() } }

    /// `readLine` on the calling thread: inside `blocking`, never on a concurrency thread.
    func readLineNow() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                defer { buffer.removeSubrange(...newline) }
                return String(decoding: buffer[..<newline], as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            buffer += chunk[..<count]
        }
    }
}

/// Connects once the daemon listens (the socket file appears at bind, before listen).
func connectRelay(_ path: String) async throws -> RelayClient {
    guard let client = await waitFor(polling: { try? RelayClient(path: path) }, until: { $0 != nil }).last else { throw POSIXError(.ECONNREFUSED) }
    return client
}

@Suite("the local relay sockets and critical messages, with real processes", .serialized)
struct RelayTests {
    @Test("50 clients at once share one link and each gets its own replies, in its order")
    func fiftyClients() async throws {
        let cluster = try ProcessCluster.started(agents: ["a2"])
        defer { cluster.stopAll() }
        #expect(await waitFor { cluster.peer("a2")?.link.state.rawValue == "up" } != nil)
        let path = cluster.directory + "/run/a2"
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o660)
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for client in 0..<50 {
                group.addTask {
                    guard let relay = try? await connectRelay(path) else { return 1000 }
                    return await blocking {
                        // Each client pipelines a pattern of its own; replies must come back in that order.
                        let commands = (0..<40).map { ["ping", "load", "loadavg", "nope-\(client)-\($0)"][($0 + client) % 4] }
                        relay.send(commands.map { $0 + "\n" }.joined())
                        var bad = 0
                        for command in commands {
                            let reply = relay.readLineNow()
                            let expected = command == "ping" ? "a2" : command.hasPrefix("nope") ? "unknown_cmd" : nil
                            if let expected, reply != expected { bad += 1 }
                            if command == "load", reply != "10.00" { bad += 1 }
                            if command == "loadavg", reply?.split(separator: " ").count != 3 { bad += 1 }
                        }
                        return bad
                    }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test("socket_group hands the relay sockets and their folder to the web server's group; the control socket stays private")
    func socketGroup() async throws {
        let cluster = try ProcessCluster(agents: ["a2"])
        defer { cluster.stopAll() }
        // nogroup exists on every Debian system; the daemon runs as root here, so it may chown to it.
        let group = try #require(getgrnam("nogroup")).pointee.gr_gid
        let config = cluster.directory + "/balancerd.yaml"
        try (String(contentsOfFile: config, encoding: .utf8) + "\nsocket_group: nogroup\n").write(toFile: config, atomically: true, encoding: .utf8)
        try cluster.startServe()
        let relay = cluster.directory + "/run/a2", control = cluster.directory + "/run/control"
        _ = try await connectRelay(relay)
        #expect(await waitFor { FileManager.default.fileExists(atPath: control) } != nil)
        var info = stat()
        #expect(lstat(relay, &info) == 0 && info.st_gid == group && info.st_mode & 0o777 == 0o660)
        #expect(lstat(cluster.directory + "/run", &info) == 0 && info.st_gid == group)
        #expect(lstat(control, &info) == 0 && info.st_gid != group && info.st_mode & 0o777 == 0o600)
    }

    @Test("while the peer is down: con_lost for plain lines, con_delayed and a file for critical ones, sent in order to its handler when it returns")
    func criticalWhileDown() async throws {
        let cluster = try ProcessCluster(agents: ["a2"])
        let handler = try StoreHandlerProcess(directory: cluster.directory)
        defer {
            handler.stop()
            cluster.stopAll()
        }
        try cluster.startServe()
        let relay = try await connectRelay(cluster.directory + "/run/a2")
        relay.send("ping\n")
        #expect(await relay.readLine() == "con_lost")
        for index in 0..<20 {
            relay.send("critical:store:\(index)\n")
            #expect(await relay.readLine() == "con_delayed")
        }
        let delayed = cluster.directory + "/state/delayed"
        let files = try FileManager.default.contentsOfDirectory(atPath: delayed).filter { $0.hasSuffix(".a2") }.sorted()
        #expect(files.count == 20)
        #expect(try String(contentsOfFile: delayed + "/" + files[0], encoding: .utf8) == "store:0\n")
        #expect(cluster.peer("a2")?.delayed == 20)
        try #require(await handler.waitUntilListening())
        try cluster.startAgent("a2", environment: ["BALANCERD_AGENT_HANDLER": handler.socket])
        // On link-up the 20 go out in order; each file is removed after the handler's `ok`.
        #expect(await waitFor { ((try? FileManager.default.contentsOfDirectory(atPath: delayed)) ?? []).filter { $0.hasSuffix(".a2") }.isEmpty } != nil)
        #expect(await waitFor { cluster.peer("a2")?.delayed == 0 } != nil)
        #expect(handler.stored().map(\.command) == (0..<20).map { "store:\($0)" })
        #expect(handler.stored().map(\.id) == files, "the id on the wire is the delayed file's name")
        relay.send("critical:store:last\n")
        #expect(await relay.readLine() == "ok")
        relay.send("echo:plain\n")
        #expect(await relay.readLine() == "plain")
    }
}

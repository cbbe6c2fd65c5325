import Foundation
import Logging
import NIOCore
import Testing
import TestSupport
@testable import Lonc

/// A throwaway CA and host certificates in a temporary folder.
struct Certificates: ~Copyable {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("balancerd-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try ClusterCertificateAuthority.create(directory: directory)
        for (id, hostname) in [("client1", "client1.localhost"), ("agent1", "agent1.localhost"), ("stranger", "stranger.example")] {
            try ClusterCertificateAuthority.issue(id: id, hostname: hostname, caDirectory: directory, into: directory)
        }
        // A second CA, and a host certificate from it with a name the table knows.
        try FileManager.default.createDirectory(atPath: directory + "/other", withIntermediateDirectories: true)
        try ClusterCertificateAuthority.create(directory: directory + "/other", commonName: "someone else's CA")
        try ClusterCertificateAuthority.issue(id: "client1", hostname: "client1.localhost", caDirectory: directory + "/other", into: directory + "/other")
        try ClusterCertificateAuthority.issue(id: "agent1", hostname: "agent1.localhost", caDirectory: directory + "/other", into: directory + "/other")
    }

    func transport(_ id: String, ca: String? = nil, folder: String? = nil) throws -> OpenSSLTransport {
        let folder = folder ?? directory
        return try OpenSSLTransport(caPath: ca ?? directory + "/ca.pem", certificatePath: "\(folder)/\(id).pem", keyPath: "\(folder)/\(id).key")
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}

extension AgentFixture {
    static func tlsAgent(_ transport: any TransportSecurity, onPeer: @escaping @Sendable (String) -> Void = { _ in }) async throws -> (AgentServer, Int) {
        let hosts = HostsTable(entries: [
            HostEntry(id: "client1", domain: "test", role: "access", hostname: "client1.localhost", address: "127.0.0.1"),
            HostEntry(id: "agent1", domain: "test", role: "access", hostname: "agent1.localhost", address: "127.0.0.1"),
        ])
        let server = AgentServer(
            settings: AgentSettings(ownID: "agent1", host: "127.0.0.1", port: 0, handshakeTimeout: .milliseconds(500), maxLine: 1024, replies: replies),
            hosts: { hosts }, transport: transport, group: group, logger: Logger(label: "agent"), onInboundPeer: onPeer)
        return (server, try await server.start().port ?? 0)
    }

    static func tlsLink(to port: Int, transport: any TransportSecurity, hostname: String = "agent1.localhost") -> PeerLink {
        PeerLink(
            host: HostEntry(id: "agent1", domain: "test", role: "access", hostname: hostname, address: "127.0.0.1", port: port),
            settings: fastSettings, transport: transport, eventLoop: group.next(), logger: Logger(label: "link"))
    }
}

@Suite("mutual TLS over OpenSSL")
struct TLSLinkTests {
    @Test("a link comes up over TLS 1.3 with both certificates checked, and carries requests")
    func mutualTLS() async throws {
        let certificates = try Certificates()
        let peers = Locked<[String]>([])
        let (agent, port) = try await AgentFixture.tlsAgent(try certificates.transport("agent1"), onPeer: { id in peers.withLock { $0.append(id) } })
        defer { Task { await agent.stop() } }
        let link = AgentFixture.tlsLink(to: port, transport: try certificates.transport("client1"))
        link.start()
        defer { Task { await link.shutdown() } }
        #expect(await eventually { link.status.state == .up })
        #expect(link.status.tlsVersion == "TLSv1.3")
        #expect(link.status.tlsCipher?.isEmpty == false)
        #expect(await link.request("load") == "37.50")
        // The agent mapped the client's certificate to its hosts-table entry.
        #expect(peers.withLock { $0 } == ["client1"])
        // A large request and reply pass through partial TLS records intact.
        let replies = await withTaskGroup(of: String.self) { group in
            for _ in 0..<2000 { group.addTask { await link.request("loadavg") } }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(replies.allSatisfy { $0 == "0.75 0.50 0.25" })
    }

    /// Each refusal: the link must not come up, and must say why in words.
    @Test("refusals: wrong CA, wrong hostname, unknown client, plain client", arguments: ["agent-other-ca", "wrong-hostname", "client-other-ca", "client-not-in-table"])
    func refusals(scenario: String) async throws {
        let certificates = try Certificates()
        let agentTransport = try scenario == "agent-other-ca"
            ? certificates.transport("agent1", ca: certificates.directory + "/ca.pem", folder: certificates.directory + "/other")
            : certificates.transport("agent1")
        let (agent, port) = try await AgentFixture.tlsAgent(agentTransport)
        defer { Task { await agent.stop() } }
        let clientTransport: OpenSSLTransport
        var hostname = "agent1.localhost"
        switch scenario {
        case "client-other-ca":
            clientTransport = try certificates.transport("client1", ca: certificates.directory + "/other/ca.pem", folder: certificates.directory + "/other")
        case "client-not-in-table":
            clientTransport = try certificates.transport("stranger")
        case "wrong-hostname":
            clientTransport = try certificates.transport("client1")
            hostname = "stranger.example"
        default:
            clientTransport = try certificates.transport("client1")
        }
        let link = AgentFixture.tlsLink(to: port, transport: clientTransport, hostname: hostname)
        link.start()
        defer { Task { await link.shutdown() } }
        #expect(await eventually { link.status.attempts >= 2 })
        #expect(link.status.state != .up)
        #expect(link.status.lastError?.isEmpty == false)
        // The agent still serves a good client afterwards (unless its own certificate is the bad part).
        guard scenario != "agent-other-ca" else { return }
        let good = AgentFixture.tlsLink(to: port, transport: try certificates.transport("client1"))
        good.start()
        defer { Task { await good.shutdown() } }
        #expect(await eventually { good.status.state == .up })
    }

    @Test("a plain-TCP client on the TLS port gets nothing and is closed; the agent serves on")
    func plainOnTLSPort() async throws {
        let certificates = try Certificates()
        let (agent, port) = try await AgentFixture.tlsAgent(try certificates.transport("agent1"))
        defer { Task { await agent.stop() } }
        let client = try RawLineClient(port: port)
        client.send("init\nload\n")
        #expect(await client.isClosedByPeer())
        let link = AgentFixture.tlsLink(to: port, transport: try certificates.transport("client1"))
        link.start()
        defer { Task { await link.shutdown() } }
        #expect(await eventually { link.status.state == .up })
    }

    @Test("a client that connects and never starts TLS is dropped after the handshake timeout")
    func silentTLSClient() async throws {
        let certificates = try Certificates()
        let (agent, port) = try await AgentFixture.tlsAgent(try certificates.transport("agent1"))
        defer { Task { await agent.stop() } }
        let client = try RawLineClient(port: port)
        #expect(await client.isClosedByPeer())
        #expect(await eventually { agent.clientCount == 0 })
    }

    @Test("a key that does not match its certificate, and a missing file, are named")
    func badFiles() throws {
        let certificates = try Certificates()
        let directory = certificates.directory
        do {
            _ = try OpenSSLTransport(caPath: directory + "/ca.pem", certificatePath: directory + "/client1.pem", keyPath: directory + "/agent1.key")
            Issue.record("a mismatched key was accepted")
        } catch {
            #expect(error.description == "the key \(directory)/agent1.key does not belong to the certificate \(directory)/client1.pem")
        }
        do {
            _ = try OpenSSLTransport(caPath: directory + "/nope.pem", certificatePath: directory + "/client1.pem", keyPath: directory + "/client1.key")
            Issue.record("a missing CA was accepted")
        } catch {
            #expect(error.description.hasPrefix("cannot load the CA certificate (tls.ca) \(directory)/nope.pem: "))
        }
    }

    @Test("openssl s_client, a TLS peer no one here wrote, completes the handshake and the init dialogue")
    func interopWithOpenSSLClient() async throws {
        let certificates = try Certificates()
        let (agent, port) = try await AgentFixture.tlsAgent(try certificates.transport("agent1"))
        defer { Task { await agent.stop() } }
        let directory = certificates.directory
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", directory + "/ca.pem", "-cert", directory + "/client1.pem",
            "-key", directory + "/client1.key", "-verify_hostname", "agent1.localhost", "-verify_return_error", "-quiet", "-ign_eof",
        ]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The challenge is random, so answer it as a person would: read, then echo.
        // The reads block, so the dialogue has a thread of its own (`blocking`).
        let lines = await blocking {
            input.fileHandleForWriting.write(Data("init\n".utf8))
            let reader = LineReader(output.fileHandleForReading)
            guard let challenge = reader.next() else { return [String?]() }
            input.fileHandleForWriting.write(Data("\(challenge)\nsethost:agent1\nload\nexit\n".utf8))
            let replies = (0..<4).map { _ in reader.next() }
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            return [challenge] + replies
        }
        let challenge = try #require(lines.first ?? nil)
        #expect(challenge.count == 32)
        #expect(Array(lines.dropFirst()) == ["ok", "ok", "37.50", "bye"])
    }
}

/// Reads lines from a pipe (blocking; the process on the other end ends them).
final class LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    init(_ handle: FileHandle) { self.handle = handle }

    func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                buffer.removeSubrange(...newline)
                return line
            }
            let data = handle.availableData
            if data.isEmpty { return nil }
            buffer += data
        }
    }
}

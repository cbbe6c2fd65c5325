import Lonc
import Foundation

/// A hand-written agent on 127.0.0.1 for fault tests: it does the handshake
/// correctly, then answers each line with `answer(line)`; when that returns nil
/// the connection hangs from then on, answering nothing (as a SIGSTOPped peer).
/// An answer holding a newline is two replies (a peer that answers twice);
/// `byteInterval` sends each byte of an answer on its own, that many seconds
/// apart (a peer that trickles). With `acceptsRequestIDs` it accepts ids when
/// the client offers them, and `answer` then gets each line as it came
/// (`#7 load`) and writes its tags itself; nil sends nothing for that line
/// (the test answers it later, or never) instead of hanging.
/// Runs on its own threads with blocking sockets.
public final class ScriptedAgent: Sendable {
    /// The port it listens on (127.0.0.1).
    public let port: Int
    private let listener: Int32
    private let accepted = Counter()

    /// Connections accepted so far.
    public var connections: Int { accepted.value }
    private let journal: Journal
    /// Every line received after a handshake, in arrival order, across connections.
    public var received: [String] { journal.lines }
    /// The same lines, each with the number of the connection it came on (1, 2, …).
    public var receivedWithConnection: [(line: String, connection: Int)] { journal.entries }

    final class Journal: Sendable {
        private let storage = Locked<[(line: String, connection: Int)]>([])
        func append(_ line: String, connection: Int) { storage.withLock { $0.append((line, connection)) } }
        var lines: [String] { storage.withLock { $0.map(\.line) } }
        var entries: [(line: String, connection: Int)] { storage.withLock { $0 } }
    }

    final class Counter: Sendable {
        private let count = Locked(0)
        func increment() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    /// Listens on 127.0.0.1 (`port` 0: any free port) and serves on its own threads.
    public init(
        id: String, port requestedPort: Int = 0, byteInterval: Double = 0, acceptsRequestIDs: Bool = false,
        answer: @escaping @Sendable (String) -> String?
    ) throws {
        let journal = Journal()
        self.journal = journal
        let (listener, port) = try boundLoopbackSocket(port: requestedPort, reuseAddress: true)
        listen(listener, 16)
        self.listener = listener
        self.port = port
        let accepted = accepted
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                accepted.increment()
                let connection = accepted.value
                Thread.detachNewThread {
                    Self.serve(
                        client, id: id, connection: connection, byteInterval: byteInterval, acceptsRequestIDs: acceptsRequestIDs,
                        journal: journal, answer: answer)
                }
            }
        }
    }

    /// Stops accepting (open connections end when their peer closes).
    public func stopListening() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private static func serve(
        _ client: Int32, id: String, connection: Int, byteInterval: Double, acceptsRequestIDs: Bool, journal: Journal,
        answer: @Sendable (String) -> String?
    ) {
        defer { close(client) }
        var buffer: [UInt8] = []
        var challenge: String?
        var handshaken = false
        var hung = false
        func reply(_ text: String, trickle: Bool = false) {
            let bytes = Array((text + "\n").utf8)
            guard trickle, byteInterval > 0 else {
                _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                return
            }
            for var byte in bytes {
                guard send(client, &byte, 1, Int32(MSG_NOSIGNAL)) == 1 else { return }
                usleep(UInt32(byteInterval * 1_000_000))
            }
        }
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            buffer += chunk[..<count]
            while let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                if !handshaken {
                    if line == WireProtocol.initCommand {
                        challenge = String(repeating: "ab", count: WireProtocol.challengeLength / 2)
                        reply(challenge ?? "")
                    } else if line == challenge {
                        reply(WireProtocol.ok)
                    } else if line.hasPrefix(WireProtocol.sethostPrefix) {
                        reply(line == WireProtocol.sethostPrefix + id ? WireProtocol.ok : WireProtocol.wrongHost)
                    } else if let offer = WireVersionLine(line) {
                        reply(WireVersionLine(version: "scripted", requestIDs: acceptsRequestIDs && offer.requestIDs).line)
                        handshaken = true
                    }
                } else if !hung {
                    journal.append(line, connection: connection)
                    if let text = answer(line) {
                        reply(text, trickle: true)
                    } else if !acceptsRequestIDs {
                        hung = true
                    }
                }
            }
        }
    }
}

import Logging
import Lonc
import NIOCore
import NIOEmbedded

/// Input: pieces separated by 0 bytes, each written to the agent's pipeline
/// (`AgentPipeline`, as `AgentServer` builds it) on an `EmbeddedChannel` after
/// a plain transport came up. `$C` in a piece becomes the last challenge the
/// agent sent, so the fuzzer can get past the echo.
///
/// Invariants: every line out is one line (no LF inside, at most `max_line`
/// bytes plus a request id's tag); before the echo is accepted the agent
/// answers only the challenge (to `init`), `refused` or `error:line_too_long`;
/// after it has closed, nothing more goes out; once it accepted request ids,
/// a line that starts with `#` is a well-formed tag.
public enum AgentStreamFuzz {
    static let maxLine = 256
    static let settings = AgentSettings(
        ownID: "agent1", host: "127.0.0.1", port: 0, handshakeTimeout: .seconds(5), maxLine: maxLine,
        replies: AgentLoadReplies(load: { "37.50" }, userload: { "unknown" }, loadavg: { "0.75 0.50 0.25" }))

    static func run(_ bytes: [UInt8]) -> [String] {
        let channel = EmbeddedChannel()
        do {
            try AgentPipeline.addHandlers(
                to: channel.pipeline.syncOperations, settings: settings, identify: { _, _ in "client1" }, onPeer: { _ in },
                logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5663)).wait()
        } catch {
            return ["could not build the agent's pipeline: \(error)"]
        }
        channel.pipeline.fireUserInboundEventTriggered(TransportEstablished(protocolVersion: "plain", cipher: nil, peerCertificateNames: []))
        var input = FuzzInput(bytes)
        var state = Observed()
        var broken: [String] = []
        while !input.isAtEnd, broken.isEmpty {
            var piece = Array(input.bytes(upTo: 0))
            if let challenge = state.challenge { piece = replace(Array("$C".utf8), with: Array(challenge.utf8), in: piece) }
            let wasClosed = !channel.isActive
            _ = try? channel.writeInbound(channel.allocator.buffer(bytes: piece))
            state.sent.append(contentsOf: piece)
            while let out = try? channel.readOutbound(as: ByteBuffer.self) {
                if wasClosed { broken.append("wrote \(out.readableBytes) bytes after closing") }
                broken += state.check(Array(out.readableBytesView))
            }
        }
        _ = try? channel.finish()
        return broken
    }

    /// What the agent has said so far, line by line.
    struct Observed {
        var sent: [UInt8] = []
        var pending: [UInt8] = []
        var challenge: String?
        var echoAccepted = false
        var idsOn = false

        mutating func check(_ bytes: [UInt8]) -> [String] {
            pending += bytes
            var broken: [String] = []
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line.utf8.count > AgentStreamFuzz.maxLine + 22 { broken.append("a line of \(line.utf8.count) bytes") }
                if !echoAccepted {
                    if WireProtocol.isChallenge(line) {
                        challenge = line
                    } else if line == WireProtocol.ok, challenge != nil {
                        echoAccepted = true
                    } else if line != WireReply.refused, line != WireProtocol.lineTooLong {
                        broken.append("before the echo the agent said \(line.debugDescription)")
                    }
                } else if let version = WireVersionLine(line), version.requestIDs {
                    idsOn = true
                } else if idsOn, line.hasPrefix("#"), WireRequestID.parse(line) == nil {
                    broken.append("a malformed tag \(line.debugDescription)")
                }
            }
            if pending.count > AgentStreamFuzz.maxLine + 22 { broken.append("\(pending.count) bytes without LF") }
            return broken
        }
    }

    static func replace(_ token: [UInt8], with value: [UInt8], in piece: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < piece.count {
            if piece[index...].starts(with: token) {
                out += value
                index += token.count
            } else {
                out.append(piece[index])
                index += 1
            }
        }
        return out
    }
}

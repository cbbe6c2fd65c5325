/// A critical message as it crosses a link: the command with an identity, so
/// the peer's application can drop a copy it already has.
///
///     critical:001764019200.123456789.9f2c41d07a3be815.msua2:store:homework
///              └──────────────────── id ─────────────────────┘ └── command ──┘
///
/// The id is the delayed file's name (never made twice, and the same after a
/// restart, so a re-send carries it again), with `%`, `:` and blanks written as `%XX`
/// so that the first `:` after it ends it.
public struct CriticalMessage: Sendable, Equatable {
    /// The message's identity (already in its wire form: no `:`, no blanks).
    public var id: String
    /// The command for the peer's application.
    public var command: String

    /// A message with the wire id made from `fileName`.
    public init(fileName: String, command: String) {
        self.id = Self.wireID(fileName)
        self.command = command
    }

    /// Parses `critical:<id>:<command>`; nil for any other line, an empty id or an empty command.
    public init?(line: String) {
        guard line.hasPrefix(WireProtocol.criticalPrefix) else { return nil }
        let rest = line.dropFirst(WireProtocol.criticalPrefix.count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let id = rest[..<colon]
        let command = rest[rest.index(after: colon)...]
        guard !id.isEmpty, !command.isEmpty, !id.contains(where: \.isWhitespace) else { return nil }
        self.id = String(id)
        self.command = String(command)
    }

    /// The line sent on the link.
    public var line: String { WireProtocol.criticalPrefix + id + ":" + command }

    /// The length in bytes of the line a critical message `command` for `peer`
    /// stored by balancerd's delayed queue goes out as (its names have one length per peer).
    static func lineLength(peer: String, command: String) -> Int {
        let name = DelayedFileName.make(seconds: 0, nanoseconds: 0, instance: String(repeating: "0", count: 16), peer: peer)
        return CriticalMessage(fileName: name, command: command).line.utf8.count
    }

    /// `name` with `%`, `:` and whitespace percent-encoded (delayed files other tools drop in may hold them).
    static func wireID(_ name: String) -> String {
        var id = ""
        for character in name {
            if character == "%" || character == ":" || character.isWhitespace {
                for byte in String(character).utf8 { id += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2) }
            } else {
                id.append(character)
            }
        }
        return id
    }
}

/// What a peer's reply to a critical message means for the message.
public enum DeliveryVerdict: Sendable, Equatable {
    /// The peer took it: the file is removed.
    case delivered
    /// The peer answered but did not take it (`unknown_cmd`, `refused`, `con_failed`,
    /// any `error:…`): the file goes to `delayed/rejected/` with the reply, never deleted.
    case rejected
    /// No answer (`con_lost`: link down, dropped, or the peer's handler unreachable):
    /// the file stays first in line and is sent again after a backoff.
    case notSent

    /// The verdict on `reply`.
    public init(reply: String) {
        switch reply {
        case WireReply.connectionLost: self = .notSent
        case WireReply.unknownCommand, WireReply.refused, WireReply.failed, WireReply.delayed: self = .rejected
        case _ where reply.hasPrefix("error:"): self = .rejected
        default: self = .delivered
        }
    }
}

extension WireReply {
    /// The agent's answer to a `critical:` line without an id and a command.
    public static let malformedCritical = "error:malformed_critical"
    /// The peer name an application is given for a plain-TCP client the hosts table does not name.
    public static let unknownPeer = "unknown"
}

extension String {
    /// `self` with zeros in front up to `width` characters.
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

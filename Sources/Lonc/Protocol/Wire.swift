/// Every word of the peer-link wire protocol, in one place (docs/REFERENCE.md,
/// "Wire protocol"). A line is UTF-8 text ending in LF:
///
///     client                          agent
///     init                    ──▶
///                             ◀──     3f2a…(32 hex)          challenge
///     3f2a…(echo)             ──▶
///                             ◀──     ok
///     sethost:msua2           ──▶
///                             ◀──     ok | error:wrong_host
///     version:<ours> ids      ──▶                             `ids`: this side can tag requests
///                             ◀──     version:<theirs> [ids]
///     load | userload | …     ──▶                             pipelined, answered in order
///                             ◀──     37.50 | 12.00 | …
///     #7 load                 ──▶                             with ids (both said `ids`)
///                             ◀──     #7 37.50
public enum WireProtocol {
    /// The protocol version both sides announce in the handshake (`version:<v>`),
    /// shown as the peer's version; not the product's (`BalancerdVersion`).
    public static let version = "0.1.0"

    /// The client's first line; the agent answers a challenge.
    public static let initCommand = "init"
    /// The length of the agent's challenge, in hex characters.
    public static let challengeLength = 32
    /// The agent's answer to a correct challenge echo, and to a good `sethost`.
    public static let ok = "ok"
    /// `sethost:<id>`: the client names the agent it believes it reached.
    public static let sethostPrefix = "sethost:"
    /// `version:<v>` both ways; `version:<v> ids` offers (client) or accepts (agent) request ids.
    public static let versionPrefix = "version:"
    /// The agent's answer to `sethost` with another id.
    public static let wrongHost = "error:wrong_host"
    /// The agent's answer to an over-long line, before it closes.
    public static let lineTooLong = "error:line_too_long"
    /// What a link answers, without sending it, for a request holding CR or LF.
    public static let lineContainsNewline = "error:line_contains_newline"
    /// Liveness; the agent answers its id.
    public static let ping = "ping"
    /// Load: 100 × loadavg / load_limit.
    public static let load = "load"
    /// Active sessions over their limit, in percent.
    public static let userload = "userload"
    /// The three load averages.
    public static let loadavg = "loadavg"
    /// Ends the session: the agent answers `bye` and closes.
    public static let exit = "exit"
    /// The answer to `exit`.
    public static let bye = "bye"
    /// `critical:<cmd>` from a local relay client: deliver `<cmd>` durably.
    public static let criticalPrefix = "critical:"
    /// `drainsync:<json>`: a drain change from another balancer instance (BalancerdCore's `DrainChange`).
    public static let drainSyncPrefix = "drainsync:"

    /// The daemon's own words a local relay client may not send, bare or after
    /// `critical:`: the handshake's (`init`, `sethost:`, `version:`), `exit`
    /// (it would close the link every client shares) and `drainsync:` (only
    /// the daemon tells the other instances about drains; its control socket
    /// is 0600). The one `command` starts with, or nil.
    public static func reservedWord(in command: String) -> String? {
        var command = Substring(command)
        while command.hasPrefix(criticalPrefix) { command = command.dropFirst(criticalPrefix.count) }
        if command == initCommand || command == exit { return String(command) }
        return [sethostPrefix, versionPrefix, drainSyncPrefix].first { command.hasPrefix($0) }
    }

    /// 32 random hex characters.
    public static func makeChallenge() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<challengeLength).map { _ in digits[Int(generator.next() % 16)] })
    }

    /// True for a well-formed challenge: exactly 32 hex digits.
    public static func isChallenge(_ line: String) -> Bool {
        line.utf8.count == challengeLength && line.allSatisfy(\.isHexDigit)
    }
}

/// Replies with a meaning of their own on the wire and in the relay.
public enum WireReply {
    /// The link is not up, or dropped before the reply came.
    public static let connectionLost = "con_lost"
    /// A critical message was stored on disk, to be sent when the link is up.
    public static let delayed = "con_delayed"
    /// A critical message could be neither sent nor stored.
    public static let failed = "con_failed"
    /// A command the agent does not know.
    public static let unknownCommand = "unknown_cmd"
    /// A command before the handshake, or a wrong challenge echo.
    public static let refused = "refused"
    /// The agent's answer to `load` or `userload` when its source cannot be read
    /// (`agent.load_file`, `agent.sessions_dir`): the figure is unknown, never 0.
    /// Any reply that is not a number counts as unknown; this is the one the agent sends.
    public static let unknown = "unknown"
}

/// Numbers as the wire protocol writes and reads them (`load`, `userload`, `loadavg`).
public enum WireNumber {
    /// Two decimals, no grouping, `.` as separator: `37.50`.
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "0.00" }
        let hundredths = Int64((value * 100).rounded())
        let sign = hundredths < 0 ? "-" : ""
        let magnitude = hundredths.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// A reply that is a finite, non-negative number; nil for anything else (`con_lost`, garbage).
    public static func parse(_ reply: String) -> Double? {
        guard !reply.isEmpty, reply.utf8.count <= 32, reply.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(reply), value.isFinite
        else { return nil }
        return value
    }
}

/// Request ids (docs/REFERENCE.md, "Request ids"): offered by the client as a
/// word after its version (`version:<v> ids`) and accepted by an agent that
/// answers the same way. From then on every line both ways is `#<id> <text>`:
///
///     "#7 load"  ──▶  agent answers "#7 37.50"
///
/// so a doubled, late or reordered reply names the request it belongs to and is
/// never taken for another's. A peer that does not say `ids` keeps the plain lines.
public enum WireRequestID {
    /// The word after the version that offers or accepts ids.
    public static let capability = "ids"
    /// The first character of a tagged line.
    public static let marker = UInt8(ascii: "#")

    /// `#<id> <text>`.
    public static func tag(_ text: String, id: UInt64) -> String { prefix(id) + text }

    /// `#<id> `, what goes before the text of a tagged line.
    public static func prefix(_ id: UInt64) -> String { "#\(id) " }

    /// The longest `#<id> ` (19 digits, 21 bytes): a tagged line is that much longer than
    /// its text, so a request or reply must leave that room under `links.max_line`.
    public static let longestPrefix = prefix(9_999_999_999_999_999_999).utf8.count

    /// The id and the text of `#<id> <text>`; nil for a line that is not tagged
    /// (no `#`, no digits, more than 19 digits, or no space after them).
    public static func parse(_ line: String) -> (id: UInt64, text: String)? {
        let utf8 = line.utf8
        guard utf8.first == marker else { return nil }
        var id: UInt64 = 0
        var index = utf8.index(after: utf8.startIndex)
        var digits = 0
        while index != utf8.endIndex, let digit = Self.digit(utf8[index]) {
            guard digits < 19 else { return nil }
            id = id * 10 + digit
            digits += 1
            index = utf8.index(after: index)
        }
        guard digits > 0, index != utf8.endIndex, utf8[index] == UInt8(ascii: " ") else { return nil }
        return (id, String(line[utf8.index(after: index)...]))
    }

    private static func digit(_ byte: UInt8) -> UInt64? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? UInt64(byte - UInt8(ascii: "0")) : nil
    }
}

/// The `version:` line of the handshake, both ways.
public struct WireVersionLine: Sendable, Equatable {
    /// The version announced.
    public var version: String
    /// Whether the sender offers (client) or accepts (agent) request ids.
    public var requestIDs: Bool

    /// A line to send.
    public init(version: String, requestIDs: Bool) {
        self.version = version
        self.requestIDs = requestIDs
    }

    /// Reads `version:<v>` or `version:<v> ids`; nil for a line without the prefix.
    /// Words after the version other than `ids` are ignored (room for later ones).
    public init?(_ line: String) {
        guard line.hasPrefix(WireProtocol.versionPrefix) else { return nil }
        let words = line.dropFirst(WireProtocol.versionPrefix.count).split(separator: " ", omittingEmptySubsequences: true)
        version = words.first.map(String.init) ?? ""
        requestIDs = words.dropFirst().contains { $0 == WireRequestID.capability }
    }

    /// `version:<v>`, with ` ids` when `requestIDs`.
    public var line: String {
        WireProtocol.versionPrefix + version + (requestIDs ? " " + WireRequestID.capability : "")
    }
}

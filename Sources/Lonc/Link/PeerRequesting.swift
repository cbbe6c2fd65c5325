/// Something that sends one request line to a peer and returns its reply line.
///
/// `PeerLink` is the real one; the poller and the relay depend only on this, so
/// they can be tested against a scripted peer. A request on a link that is not
/// up, or whose link drops before the reply, returns `con_lost`.
public protocol PeerRequesting: Sendable {
    /// The peer's id in the hosts table.
    var peerID: String { get }
    /// Sends `line` (without its LF) and returns the reply (without its LF), or `con_lost`.
    func request(_ line: String) async -> String
    /// The link's current status.
    var status: LinkStatus { get }
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
}

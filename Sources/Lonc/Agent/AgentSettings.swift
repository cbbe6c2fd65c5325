import NIOCore

/// What the agent answers with: this server's load, computed by the caller
/// (the Health module reads /proc/loadavg and the sessions folder).
public struct AgentLoadReplies: Sendable {
    /// The reply to `load` (`37.50`).
    public var load: @Sendable () -> String
    /// The reply to `userload`.
    public var userload: @Sendable () -> String
    /// The reply to `loadavg` (`0.52 0.58 0.59`).
    public var loadavg: @Sendable () -> String

    /// Creates the replies.
    public init(load: @escaping @Sendable () -> String, userload: @escaping @Sendable () -> String, loadavg: @escaping @Sendable () -> String) {
        self.load = load
        self.userload = userload
        self.loadavg = loadavg
    }
}

/// The agent's settings (`agent.*` and the relevant `links.*` keys).
public struct AgentSettings: Sendable {
    /// This server's id: the answer to `ping`, and what `sethost` must name.
    public var ownID: String
    /// Where to listen.
    public var host: String
    /// The port (0: any free port, for tests).
    public var port: Int
    /// A client must finish the transport and the `init` dialogue within this.
    public var handshakeTimeout: Duration
    /// The longest line accepted.
    public var maxLine: Int
    /// The load replies.
    public var replies: AgentLoadReplies
    /// Answers every command the agent does not own; nil: `unknown_cmd`.
    public var application: (any AgentApplication)?

    /// Creates settings.
    public init(
        ownID: String, host: String, port: Int, handshakeTimeout: Duration, maxLine: Int, replies: AgentLoadReplies,
        application: (any AgentApplication)? = nil
    ) {
        self.ownID = ownID
        self.host = host
        self.port = port
        self.handshakeTimeout = handshakeTimeout
        self.maxLine = maxLine
        self.replies = replies
        self.application = application
    }
}

import Foundation

/// Where a peer link is in its life (docs/REFERENCE.md, "Link life"):
///
///     connecting → handshaking → up ─(error, timeout, close)→ backoff → connecting …
///                                      after max_attempts failures in a row → given_up
public enum LinkState: String, Sendable, Codable, CaseIterable {
    case connecting
    case handshaking
    case up
    case backoff
    case givenUp = "given_up"
}

/// What an operator sees of one peer link on /status, /health and /metrics.
/// A value: the link publishes a new one on every change.
public struct LinkStatus: Sendable, Equatable, Codable {
    /// The peer's id in the hosts table.
    public var peerID: String
    /// The current state.
    public var state: LinkState
    /// When the link entered `state` (wall clock, for display).
    public var since: Date
    /// Failed attempts in a row since the link was last up.
    public var attempts: Int
    /// The last failure in words ("connect to 127.0.0.1:5701: connection refused"), or nil.
    public var lastError: String?
    /// Moving average of ping and poll round trips, in milliseconds; nil before the first.
    public var rttMilliseconds: Double?
    /// The version the peer announced in the handshake.
    public var peerVersion: String?
    /// The negotiated TLS protocol (`TLSv1.3`), or `plain` with `tls.insecure`; nil before the handshake.
    public var tlsVersion: String?
    /// The negotiated cipher suite.
    public var tlsCipher: String?
    /// Requests sent on this link since the daemon started.
    public var requestsTotal: Int
    /// Requests that got `con_lost` (drop, timeout, link not up).
    public var failuresTotal: Int
    /// Delayed (critical) messages waiting on disk for this peer.
    public var delayed: Int
    /// Whether the link tags requests with ids (both sides said `ids` in the handshake); nil before it.
    public var requestIDs: Bool?
    /// Replies dropped unmatched on an id link: an id answered already, given up on or never sent.
    public var strayRepliesTotal: Int

    /// Creates a status; a new link starts `connecting` with no history.
    public init(
        peerID: String, state: LinkState = .connecting, since: Date = Date(), attempts: Int = 0,
        lastError: String? = nil, rttMilliseconds: Double? = nil, peerVersion: String? = nil,
        tlsVersion: String? = nil, tlsCipher: String? = nil, requestsTotal: Int = 0,
        failuresTotal: Int = 0, delayed: Int = 0, requestIDs: Bool? = nil, strayRepliesTotal: Int = 0
    ) {
        self.peerID = peerID
        self.state = state
        self.since = since
        self.attempts = attempts
        self.lastError = lastError
        self.rttMilliseconds = rttMilliseconds
        self.peerVersion = peerVersion
        self.tlsVersion = tlsVersion
        self.tlsCipher = tlsCipher
        self.requestsTotal = requestsTotal
        self.failuresTotal = failuresTotal
        self.delayed = delayed
        self.requestIDs = requestIDs
        self.strayRepliesTotal = strayRepliesTotal
    }
}

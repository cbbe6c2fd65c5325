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

/// Where one peer link is, as operators and the balancer see it: derived from
/// the link's state machine (`PeerLink.StateMachine.status`) at every change,
/// never set by hand. The link publishes a new one to its listeners
/// (`LinkListener`) on every change; the poller keeps the latest of each in
/// its snapshot, which `/health` and the balancer both read.
public struct LinkStatus: Sendable, Equatable, Codable {
    /// The peer's id in the hosts table.
    public var peerID: String
    /// The current state.
    public var state: LinkState
    /// When the link entered `state` (wall clock, for display).
    public var since: Date
    /// Failed attempts in a row since the link was last up.
    public var attempts: Int
    /// The last failure in words ("connect to 127.0.0.1:5701: connection refused"), or nil;
    /// kept once the link is up again ("what went wrong last" is what an operator asks after a flap).
    public var lastError: String?
    /// The version the peer announced in the handshake.
    public var peerVersion: String?
    /// The negotiated TLS protocol (`TLSv1.3`), or `plain` with `tls.insecure`; nil before the handshake.
    public var tlsVersion: String?
    /// The negotiated cipher suite.
    public var tlsCipher: String?
    /// Whether the link tags requests with ids (both sides said `ids` in the handshake); nil before it.
    public var requestIDs: Bool?

    /// Creates a status; a new link starts `connecting` with no history.
    public init(
        peerID: String, state: LinkState = .connecting, since: Date = Date(), attempts: Int = 0, lastError: String? = nil,
        peerVersion: String? = nil, tlsVersion: String? = nil, tlsCipher: String? = nil, requestIDs: Bool? = nil
    ) {
        self.peerID = peerID
        self.state = state
        self.since = since
        self.attempts = attempts
        self.lastError = lastError
        self.peerVersion = peerVersion
        self.tlsVersion = tlsVersion
        self.tlsCipher = tlsCipher
        self.requestIDs = requestIDs
    }
}

/// What went over one link since the daemon started: counters read live
/// (`PeerLink.traffic`), not part of the link's state and not published on change.
public struct LinkTraffic: Sendable, Equatable {
    /// Requests sent on this link.
    public var requestsTotal = 0
    /// Requests that got `con_lost` (drop, timeout, link not up).
    public var failuresTotal = 0
    /// Replies dropped unmatched on an id link: an id answered already, given up on or never sent.
    public var strayRepliesTotal = 0
    /// Moving average of ping and poll round trips, in milliseconds; nil before the first.
    public var rttMilliseconds: Double?

    public init() {}
}

/// One change of a link's status, as its listeners get it.
public struct LinkChange: Sendable, Equatable {
    /// The status now.
    public var status: LinkStatus
    /// The link has just come up: it was not up in the status before.
    public var cameUp: Bool
}

/// Follows the links of a `LinkSupervisor` (the poller, the relay, drain
/// sharing): told of every change of every link's status, in order per link,
/// on that link's event loop. Must return at once.
public protocol LinkListener: Sendable {
    func linkChanged(_ change: LinkChange)
}

/// How a peer link behaves (`links.*` in balancerd.yaml). The defaults in `init` are the
/// config's: the loader falls back to them, so they are written only here (docs/REFERENCE.md).
public struct LinkSettings: Sendable, Equatable {
    /// The agent port for peers whose hosts-table address has none.
    public var port: Int
    /// TCP connect, and then the TLS handshake and the `init` dialogue, must each finish within this.
    public var connectTimeout: Duration
    /// A request unanswered for this long resets the link (the seed's transaction timeout).
    /// With request ids, only when the peer has answered nothing since; else that request alone gets `con_lost`.
    public var requestTimeout: Duration
    /// An idle link is pinged this often.
    public var keepalive: Duration
    /// Failures in a row before the link is given up until a retry.
    public var maxAttempts: Int
    /// The first backoff delay; it doubles per failure, with jitter…
    public var backoffInitial: Duration
    /// …up to this.
    public var backoffMax: Duration
    /// Requests in flight at once on one link.
    public var pipelineDepth: Int
    /// The longest line accepted.
    public var maxLine: Int
    /// Offer request ids in the handshake (`version:<v> ids`); used when the agent accepts them.
    public var requestIDs: Bool
    /// Links connecting or handshaking at once (`ConnectionPacer`); the others wait their turn.
    public var maxConnecting: Int

    /// Creates settings.
    public init(
        port: Int = 5663, connectTimeout: Duration = .seconds(5), requestTimeout: Duration = .seconds(60),
        keepalive: Duration = .seconds(10), maxAttempts: Int = 15, backoffInitial: Duration = .milliseconds(500),
        backoffMax: Duration = .seconds(30), pipelineDepth: Int = 64, maxLine: Int = 65536,
        requestIDs: Bool = true, maxConnecting: Int = 128
    ) {
        self.port = port
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.keepalive = keepalive
        self.maxAttempts = maxAttempts
        self.backoffInitial = backoffInitial
        self.backoffMax = backoffMax
        self.pipelineDepth = pipelineDepth
        self.maxLine = maxLine
        self.requestIDs = requestIDs
        self.maxConnecting = maxConnecting
    }

    /// The delay before attempt `attempt + 1` after `attempt` failures in a row:
    /// exponential from `backoffInitial` to `backoffMax`, scaled by `jitter` in 0.5…1.
    public func backoff(afterFailures attempt: Int, jitter: Double) -> Duration {
        let initial = backoffInitial.secondsValue
        let maximum = backoffMax.secondsValue
        let exponent = Double(min(max(attempt - 1, 0), 30))
        let seconds = min(maximum, initial * pow2(exponent)) * min(max(jitter, 0.5), 1)
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    private func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        for _ in 0..<Int(exponent) { value *= 2 }
        return value
    }
}

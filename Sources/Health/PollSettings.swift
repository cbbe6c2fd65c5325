/// How often and how patiently peers are polled (`poll.*` in balancerd.yaml).
public struct PollSettings: Sendable, Equatable {
    /// Time between two polls of one peer.
    public var interval: Duration
    /// How long one `load` or `userload` request may take before its figure counts as unknown.
    public var timeout: Duration
    /// A sample older than this does not count.
    public var staleAfter: Duration
    /// Samples kept per peer for the status page.
    public var history: Int

    /// Creates settings. These defaults are the config's (`poll.*`, docs/REFERENCE.md): written only here.
    public init(interval: Duration = .seconds(2), timeout: Duration = .seconds(1), staleAfter: Duration = .seconds(6), history: Int = 900) {
        self.interval = interval
        self.timeout = timeout
        self.staleAfter = staleAfter
        self.history = history
    }
}

/// A load sample as the policy sees it: the effective load (the larger known of
/// `load` and `userload`, as lonnet's `spareserver`) and when it was taken.
public struct LoadReading: Sendable, Equatable {
    /// Effective load in percent: the larger of `load` and `userload`; nil
    /// when either is unknown (the larger of 20 % and "unknown" is unknown).
    public var effective: Double?
    /// `load`: the load average's figure (100 × loadavg / load_limit); nil when unknown.
    public var load: Double?
    /// `userload`: the sessions' figure (100 × sessions / user_load_limit); nil when unknown.
    public var userload: Double?
    /// When the reply arrived, in seconds on the caller's monotonic timeline.
    public var takenAt: Double
    /// Increases with every new sample of this server; a change tells the policy
    /// that a fresh sample arrived (and the predicted-load ledger resets).
    public var sequence: UInt64

    /// Creates a reading of both figures.
    public init(load: Double?, userload: Double?, takenAt: Double, sequence: UInt64) {
        self.load = load
        self.userload = userload
        self.effective = load.flatMap { load in userload.map { max(load, $0) } }
        self.takenAt = takenAt
        self.sequence = sequence
    }

    /// Creates a reading known only by its effective load (both figures that value).
    public init(effective: Double?, takenAt: Double, sequence: UInt64) {
        self.init(load: effective, userload: effective, takenAt: takenAt, sequence: sequence)
    }
}

/// A drain an operator set (`balancerd ctl drain <id> <reason>`).
public struct Drain: Sendable, Equatable {
    /// Why, in the operator's words.
    public var reason: String
    /// Creates a drain.
    public init(reason: String) { self.reason = reason }
}

/// What the policy knows of one spare at one moment.
public struct SpareObservation: Sendable, Equatable {
    /// The spare's id in the hosts table.
    public var id: String
    /// Its LON-CAPA domain.
    public var domain: String
    /// Whether its link is up; when not, `linkState` says what it is (`backoff`, `given_up`…).
    public var linkUp: Bool
    /// The link state's name, for reasons.
    public var linkState: String
    /// The latest sample, if any.
    public var reading: LoadReading?
    /// The drain, if the spare is draining.
    public var drain: Drain?
    /// Polls in a row it did not answer at all (timeout or `con_lost`); any > 0 excludes it.
    public var unansweredPolls: Int

    /// Creates an observation.
    public init(
        id: String, domain: String, linkUp: Bool, linkState: String? = nil, reading: LoadReading?, drain: Drain? = nil,
        unansweredPolls: Int = 0
    ) {
        self.id = id
        self.domain = domain
        self.linkUp = linkUp
        self.linkState = linkState ?? (linkUp ? "up" : "down")
        self.reading = reading
        self.drain = drain
        self.unansweredPolls = unansweredPolls
    }
}

/// One spare in an update of only what changed: what the policy knows of it
/// now, and the readings it gave since the previous update that a newer one
/// replaced before this update was made (updates are coalesced, so a spare
/// polled twice within one can answer 100 % and then 90 %).
public struct SpareChange: Sendable, Equatable {
    /// The spare now; its `reading` is the newest.
    public var observation: SpareObservation
    /// The readings before `observation.reading`, oldest first: the readmit
    /// latch folds each in order before the newest, so a spike at `max_load`
    /// excludes the spare even when a lower reading replaced it within the update.
    public var superseded: [LoadReading]

    /// Creates a change.
    public init(_ observation: SpareObservation, superseded: [LoadReading] = []) {
        self.observation = observation
        self.superseded = superseded
    }
}

/// Everything the policy needs at one moment: this server and its spares.
public struct BalancerInput: Sendable, Equatable {
    /// This server's own latest sample.
    public var own: LoadReading?
    /// One observation per configured spare; spares missing here count as unknown.
    public var spares: [SpareObservation]

    /// Creates an input.
    public init(own: LoadReading?, spares: [SpareObservation]) {
        self.own = own
        self.spares = spares
    }
}

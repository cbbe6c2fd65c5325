import Foundation

/// One answer to a load poll: the two figures (each nil when the reply was not
/// a number: unknown, not zero) and when the replies arrived.
public struct LoadSample: Sendable, Equatable {
    /// `load`: 100 × loadavg / load_limit.
    public var loadPercent: Double?
    /// `userload`: 100 × active sessions / user_load_limit.
    public var userLoadPercent: Double?
    /// Wall-clock time of the reply, for display.
    public var sampledAt: Date
    /// Monotonic time of the reply (seconds), for staleness: immune to clock steps.
    public var monotonicAt: Double
    /// Increases with each sample of the same server.
    public var sequence: UInt64

    /// Creates a sample stamped now.
    public init(loadPercent: Double?, userLoadPercent: Double?, sequence: UInt64, sampledAt: Date = Date(), monotonicAt: Double = MonotonicClock.now()) {
        self.loadPercent = loadPercent
        self.userLoadPercent = userLoadPercent
        self.sampledAt = sampledAt
        self.monotonicAt = monotonicAt
        self.sequence = sequence
    }

    /// The larger known figure, as lonnet's `spareserver`; nil when both are unknown.
    public var effectivePercent: Double? {
        switch (loadPercent, userLoadPercent) {
        case let (load?, user?): max(load, user)
        case let (load?, nil): load
        case let (nil, user?): user
        case (nil, nil): nil
        }
    }
}

/// Seconds on a monotonic clock (CLOCK_MONOTONIC): the timeline of staleness,
/// slow start and the balancer. Not comparable across processes.
public enum MonotonicClock {
    /// Now, in seconds.
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

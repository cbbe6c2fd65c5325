import Foundation
import NIOCore

/// One answer to a load poll: the two figures (each nil when the reply was not
/// a number: unknown, not zero) and when the replies arrived.
public struct LoadSample: Sendable, Equatable {
    /// `load`: 100 × loadavg / load_limit.
    public var loadPercent: Double?
    /// `userload`: 100 × active sessions / user_load_limit.
    public var userLoadPercent: Double?
    /// Wall-clock time of the reply, for display.
    public var sampledAt: Date
    /// Monotonic time of the reply, for staleness: immune to clock steps.
    public var takenAt: NIODeadline
    /// Increases with each sample of the same server.
    public var sequence: UInt64

    /// Creates a sample stamped now.
    public init(loadPercent: Double?, userLoadPercent: Double?, sequence: UInt64, sampledAt: Date = Date(), takenAt: NIODeadline = .now()) {
        self.loadPercent = loadPercent
        self.userLoadPercent = userLoadPercent
        self.sampledAt = sampledAt
        self.takenAt = takenAt
        self.sequence = sequence
    }

    /// `takenAt` in seconds on `MonotonicClock`, for the balancer's timeline.
    public var monotonicAt: Double { MonotonicClock.seconds(takenAt) }

    /// The larger figure, as lonnet's `spareserver`; nil when either is unknown:
    /// the larger of 20 % and "unknown" is unknown (an unreadable sessions folder
    /// may hide any number of sessions), so the balancer never chooses it.
    public var effectivePercent: Double? {
        guard let loadPercent, let userLoadPercent else { return nil }
        return max(loadPercent, userLoadPercent)
    }
}

/// The monotonic clock (CLOCK_MONOTONIC, as NIO's `NIODeadline.now()`): the
/// timeline of staleness, slow start and the balancer. Not comparable across
/// processes.
///
/// Health and Lonc keep time as `NIODeadline`; the `Balancer` module has no
/// imports and takes time as `Double` seconds. This is the one conversion:
///
///     NIODeadline(uptimeNanoseconds: 12_500_000_000) ──seconds──▶ 12.5
public enum MonotonicClock {
    /// Now, in seconds, for the balancer's timeline.
    public static func now() -> Double { seconds(.now()) }

    /// `instant` in seconds on the same timeline as `now()`.
    public static func seconds(_ instant: NIODeadline) -> Double {
        Double(instant.uptimeNanoseconds) / 1e9
    }
}

/// When a peer's delayed messages may be tried again after a `con_lost`
/// (docs/REFERENCE.md, "Delivery guarantees"): the message stays first in
/// line; the next try waits 0.5 s, doubling per failure up to 30 s. A
/// delivered or rejected message, or the link coming up, ends it (the router
/// drops the peer's backoff). A value: time (monotonic seconds) is a parameter.
struct ReplayBackoff: Sendable, Equatable {
    static let initialDelay = 0.5
    static let maximumDelay = 30.0

    private(set) var failures = 0
    private(set) var retryAt: Double?

    /// A try ended with `con_lost` at `now`.
    mutating func lost(at now: Double) {
        failures += 1
        let delay = min(Self.maximumDelay, Self.initialDelay * Double(1 << min(failures - 1, 16)))
        retryAt = now + delay
    }

    /// True when a try may start at `now`.
    func isDue(at now: Double) -> Bool { retryAt.map { now >= $0 } ?? true }
}

import NIOCore

/// Paces link attempts: at most `limit` links connecting or handshaking at
/// once, the others waiting their turn in order. Without it, 10,000 links
/// started together each dial at once, every handshake competes for the one
/// event loop, most pass their connect deadline, back off, and try again
/// together: a cold start that never converges. Paced, each attempt gets the
/// loop's attention and finishes, and the start-up time grows linearly.
///
/// An admitted attempt holds its slot until the link is up, fails or stops
/// (`release`). The bookkeeping is `ConnectionPacer.Queue`, a value.
public final class ConnectionPacer: Sendable {
    /// Slots and waiting attempts as a value: events in, the attempt to start out.
    public struct Queue: Sendable {
        /// Attempts in flight at once.
        public let limit: Int
        /// Attempts holding a slot now.
        public private(set) var inFlight = 0
        private var waiting = CircularBuffer<Int>()

        /// A queue of `limit` slots (at least 1).
        public init(limit: Int) { self.limit = max(1, limit) }

        /// Attempts waiting for a slot.
        public var waitingCount: Int { waiting.count }

        /// Attempt `ticket` asks for a slot: true when it may start now (it then
        /// holds one); false when it waits, to be handed out by `release`.
        public mutating func request(_ ticket: Int) -> Bool {
            guard inFlight < limit else {
                waiting.append(ticket)
                return false
            }
            inFlight += 1
            return true
        }

        /// An attempt gave its slot back: the next waiting attempt, if any, now holds it.
        public mutating func release() -> Int? {
            if let next = waiting.popFirst() { return next }
            inFlight = max(0, inFlight - 1)
            return nil
        }
    }

    private struct State: Sendable {
        var queue: Queue
        var nextTicket = 0
        var starts: [Int: @Sendable () -> Void] = [:]
    }

    private let state: Locked<State>

    /// A pacer letting `limit` attempts run at once.
    public init(limit: Int) { state = Locked(State(queue: Queue(limit: limit))) }

    /// Runs `start` now if a slot is free, else once one is released. The
    /// caller must `release()` once the attempt is over, whatever its outcome
    /// (also when `start` finds it has nothing to do any more).
    public func admit(_ start: @escaping @Sendable () -> Void) {
        let now: Bool = state.withLock { state in
            state.nextTicket += 1
            let ticket = state.nextTicket
            if state.queue.request(ticket) { return true }
            state.starts[ticket] = start
            return false
        }
        if now { start() }
    }

    /// An admitted attempt is over: the next waiting one starts.
    public func release() {
        let next: (@Sendable () -> Void)? = state.withLock { state in
            state.queue.release().flatMap { state.starts.removeValue(forKey: $0) }
        }
        next?()
    }

    /// Attempts holding a slot, and attempts waiting for one.
    public var counts: (inFlight: Int, waiting: Int) { state.withLock { ($0.queue.inFlight, $0.queue.waitingCount) } }
}

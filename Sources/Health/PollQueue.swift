import HeapModule
import NIOCore

/// When each peer is polled next, as a min-heap of due times: a wake-up costs
/// O(log n) for each peer that is due, not a walk over every peer (at 1,000
/// peers polled every second the poller wakes about once a millisecond).
///
/// Every peer keeps its own phase: its next poll is one interval after the
/// one that was due, or one interval from now when it fell behind. A peer
/// removed (or rescheduled) leaves its old heap entry behind; that entry is
/// recognised as stale when it reaches the top and dropped.
public struct PollQueue: Sendable {
    private struct Entry: Comparable, Sendable {
        var due: NIODeadline
        var id: String

        static func < (lhs: Entry, rhs: Entry) -> Bool { (lhs.due, lhs.id) < (rhs.due, rhs.id) }
    }

    private var heap = Heap<Entry>()
    /// The live due time of each peer; heap entries that disagree are stale.
    private var due: [String: NIODeadline] = [:]

    /// An empty queue.
    public init() {}

    /// Polls `id` next at `deadline` (replacing any time it had).
    public mutating func schedule(_ id: String, at deadline: NIODeadline) {
        due[id] = deadline
        heap.insert(Entry(due: deadline, id: id))
    }

    /// Polls `id` no more.
    public mutating func remove(_ id: String) { due[id] = nil }

    /// Brings every poll due after `deadline` forward to it (a reload shortened the interval).
    public mutating func pullIn(to deadline: NIODeadline) {
        for (id, time) in due where time > deadline { schedule(id, at: deadline) }
    }

    /// The peers due at `now`, each rescheduled one `interval` later.
    public mutating func takeDue(now: NIODeadline, interval: TimeAmount) -> [String] {
        var taken: [String] = []
        while let top = heap.min, top.due <= now {
            heap.removeMin()
            guard due[top.id] == top.due else { continue }
            taken.append(top.id)
            let next = top.due + interval
            schedule(top.id, at: next > now ? next : now + interval)
        }
        return taken
    }

    /// The earliest due time, or nil with no peers.
    public mutating func nextDue() -> NIODeadline? {
        while let top = heap.min, due[top.id] != top.due { heap.removeMin() }
        return heap.min?.due
    }
}

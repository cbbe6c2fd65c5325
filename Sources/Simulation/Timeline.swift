import HeapModule

/// The simulator's agenda: what happens next, in time order; two things due at
/// the same moment happen in the order they were scheduled (a run is the same
/// every time for the same seed).
struct Timeline {
    struct Entry: Comparable {
        var time: Double
        var order: UInt64
        var happening: Happening

        static func < (lhs: Entry, rhs: Entry) -> Bool { (lhs.time, lhs.order) < (rhs.time, rhs.order) }
        static func == (lhs: Entry, rhs: Entry) -> Bool { (lhs.time, lhs.order) == (rhs.time, rhs.order) }
    }

    private var heap = Heap<Entry>()
    private var order: UInt64 = 0

    mutating func schedule(_ happening: Happening, at time: Double) {
        order += 1
        heap.insert(Entry(time: time, order: order, happening: happening))
    }

    mutating func next() -> Entry? { heap.popMin() }
}

/// One thing that happens in a run.
enum Happening {
    /// Login number `index` arrives.
    case login(index: Int)
    /// The kernel of `server` updates its load average.
    case kernelUpdate(server: Int)
    /// Balancer `balancer`'s periodic poll of `server` is due (`epoch`: its start; an older one is void).
    case poll(balancer: Int, server: Int, epoch: Int)
    /// The answer to a poll arrives.
    case reply(balancer: Int, server: Int, epoch: Int)
    /// A poll went unanswered for `poll.timeout`.
    case timeout(balancer: Int, server: Int, epoch: Int)
    /// A link from `balancer` to `server` comes up.
    case linkUp(balancer: Int, server: Int, epoch: Int)
    /// Balancer `balancer` samples its own server.
    case ownSample(balancer: Int, epoch: Int)
    /// A session ends (it still counts for `userload` until `active_window` later).
    case sessionEnd(server: Int, work: Double, counted: Bool, boot: Int)
    /// A session's file leaves the active window.
    case sessionExpires(server: Int, boot: Int)
    /// Scenario event `index` begins.
    case event(index: Int)
    /// Scenario event `index` ends (the server answers again, the link returns, …).
    case eventEnds(index: Int)
    /// The figures take a point for the plots.
    case record
    /// The spread of settled load is measured.
    case measureSpread
}

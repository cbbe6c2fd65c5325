import Foundation
import Logging
import Lonc

/// Asks every peer for `load` and `userload` every interval, over its link,
/// and publishes a `HealthSnapshot` after every change.
///
/// First polls are spread over one interval with jitter, then each peer keeps
/// its own schedule, so a restart never sends every poll at once. A reply that
/// is not a number, `con_lost`, or no reply within `timeout` leaves that figure
/// unknown; the link itself is not touched (it has its own request timeout).
/// Snapshots are coalesced: at most one every `publishDelay`, so 1,000 peers
/// answering within a few milliseconds cost one snapshot, not 1,000.
public final class LoadPoller: Sendable {
    /// The settings in force.
    public let settings: PollSettings
    private let local: LocalLoad?
    private let logger: Logger
    private let publishDelay: Duration
    private let state: Locked<State>
    private let published = Locked(HealthSnapshot.empty)
    private let listeners = Locked<[@Sendable (HealthSnapshot) -> Void]>([])

    private struct State: Sendable {
        var peers: [String: PeerEntry] = [:]
        var order: [String] = []
        var own: LoadSample?
        var ownHistory: HistoryRing<LoadSample>
        var sequence: UInt64 = 0
        var generation: UInt64 = 0
        var dirty = true
        /// Bumps when the peer set changes, so the scheduler re-reads it.
        var membership: UInt64 = 0
    }

    private struct PeerEntry: Sendable {
        var link: any PeerRequesting
        var latest: LoadSample?
        var history: HistoryRing<LoadSample>
        var unansweredPolls = 0
        var nextDue: Double
    }

    /// Creates a poller. `local` also polls this server's own load (nil: only peers).
    public init(settings: PollSettings, local: LocalLoad?, logger: Logger, publishDelay: Duration = .milliseconds(50)) {
        self.settings = settings
        self.local = local
        self.logger = logger
        self.publishDelay = publishDelay
        self.state = Locked(State(ownHistory: HistoryRing(capacity: settings.history)))
    }

    /// The latest snapshot (a copy; never blocks on a poll).
    public var snapshot: HealthSnapshot { published.withLock { $0 } }

    /// Calls `listener` with every snapshot published from now on.
    public func onSnapshot(_ listener: @escaping @Sendable (HealthSnapshot) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    /// Replaces the set of peers (start, reload). Peers that stay keep their
    /// samples and schedule; new ones get first polls spread over one interval.
    public func setPeers(_ links: [any PeerRequesting]) {
        let interval = settings.interval.secondsValue
        let now = MonotonicClock.now()
        state.withLock { state in
            // Made here, not captured from outside: ThreadSanitizer crashes on an
            // empty struct captured inout by a closure (seen with Swift 6.3.1).
            var generator = SystemRandomNumberGenerator()
            let newIDs = links.map(\.peerID).filter { state.peers[$0] == nil }
            let offsets = PollSchedule.firstOffsets(count: newIDs.count, interval: interval, using: &generator)
            var offsetByID: [String: Double] = [:]
            for (id, offset) in zip(newIDs, offsets) { offsetByID[id] = offset }
            var peers: [String: PeerEntry] = [:]
            for link in links {
                if var existing = state.peers[link.peerID] {
                    existing.link = link
                    peers[link.peerID] = existing
                } else {
                    peers[link.peerID] = PeerEntry(
                        link: link, latest: nil, history: HistoryRing(capacity: settings.history),
                        nextDue: now + (offsetByID[link.peerID] ?? 0))
                }
            }
            state.peers = peers
            state.order = links.map(\.peerID)
            state.membership &+= 1
            state.dirty = true
        }
    }

    /// The recent samples of one peer (or of this server, with `nil`), oldest first.
    public func history(of id: String?) -> [LoadSample] {
        state.withLock { state in
            guard let id else { return state.ownHistory.elements }
            return state.peers[id]?.history.elements ?? []
        }
    }

    /// A link changed state: publishes a snapshot at once, so the balancer stops
    /// choosing a peer the moment its link drops, not at the next poll.
    public func linkChanged() {
        state.withLock { $0.dirty = true }
        publishIfDirty()
    }

    /// Polls until the task is cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.publishLoop() }
            group.addTask { await self.scheduleLoop() }
            await group.waitForAll()
        }
    }

    // MARK: - Scheduling

    private func scheduleLoop() async {
        var nextOwn = MonotonicClock.now()
        await withDiscardingTaskGroup { polls in
            while !Task.isCancelled {
                let now = MonotonicClock.now()
                let interval = settings.interval.secondsValue
                if local != nil, now >= nextOwn {
                    nextOwn = now + interval
                    polls.addTask { self.pollOwn() }
                }
                let due: [any PeerRequesting] = state.withLock { state in
                    var due: [any PeerRequesting] = []
                    for id in state.order {
                        guard var entry = state.peers[id], entry.nextDue <= now else { continue }
                        // Keep the peer's phase: the next poll is one interval after this one was due.
                        entry.nextDue += interval
                        if entry.nextDue <= now { entry.nextDue = now + interval }
                        state.peers[id] = entry
                        due.append(entry.link)
                    }
                    return due
                }
                for link in due {
                    polls.addTask { await self.poll(link) }
                }
                let wake: Double = state.withLock { state in
                    state.peers.values.map(\.nextDue).min() ?? now + interval
                }
                let untilNext = min(max(min(wake, local == nil ? wake : nextOwn) - MonotonicClock.now(), 0.001), interval)
                try? await Task.sleep(for: .milliseconds(Int64(untilNext * 1000) + 1))
            }
            polls.cancelAll()
        }
    }

    private func pollOwn() {
        guard let local else { return }
        state.withLock { state in
            state.sequence &+= 1
            let sample = local.sample(sequence: state.sequence)
            state.own = sample
            state.ownHistory.append(sample)
            state.dirty = true
        }
    }

    private func poll(_ link: any PeerRequesting) async {
        async let load = request(link, "load")
        async let userLoad = request(link, "userload")
        let (loadReply, userReply) = await (load, userLoad)
        let loadPercent = loadReply.flatMap(WireNumber.parse)
        let userPercent = userReply.flatMap(WireNumber.parse)
        // Silence or con_lost on both is no answer: the peer is excluded now, not when its sample goes stale.
        let answered = [loadReply, userReply].contains { $0 != nil && $0 != WireReply.connectionLost }
        if loadPercent == nil, userPercent == nil {
            // Nothing usable: keep the previous sample, which will go stale on its own.
            logger.debug("poll of \(link.peerID) got no number", metadata: ["load": "\(loadReply ?? "timeout")", "userload": "\(userReply ?? "timeout")"])
            state.withLock { state in
                if var entry = state.peers[link.peerID] {
                    entry.unansweredPolls = answered ? 0 : entry.unansweredPolls + 1
                    state.peers[link.peerID] = entry
                }
                state.dirty = true
            }
            return
        }
        state.withLock { state in
            guard var entry = state.peers[link.peerID] else { return }
            entry.unansweredPolls = 0
            state.sequence &+= 1
            let sample = LoadSample(loadPercent: loadPercent, userLoadPercent: userPercent, sequence: state.sequence)
            entry.latest = sample
            entry.history.append(sample)
            state.peers[link.peerID] = entry
            state.dirty = true
        }
    }

    /// The reply, or nil when none came within `poll.timeout`.
    private func request(_ link: any PeerRequesting, _ command: String) async -> String? {
        await firstReply(within: settings.timeout) { await link.request(command) }
    }

    // MARK: - Publishing

    private func publishLoop() async {
        while !Task.isCancelled {
            publishIfDirty()
            try? await Task.sleep(for: publishDelay)
        }
    }

    /// Builds and publishes a snapshot if anything changed since the last one.
    public func publishIfDirty() {
        let snapshot: HealthSnapshot? = state.withLock { state in
            guard state.dirty else { return nil }
            state.dirty = false
            state.generation &+= 1
            let peers = state.order.compactMap { id in
                state.peers[id].map { PeerHealth(id: id, link: $0.link.status, latest: $0.latest, unansweredPolls: $0.unansweredPolls) }
            }
            return HealthSnapshot(generation: state.generation, own: state.own, peers: peers)
        }
        guard let snapshot else { return }
        published.withLock { $0 = snapshot }
        for listener in listeners.withLock({ $0 }) { listener(snapshot) }
    }
}

/// Runs `operation` and returns its result, or nil if `limit` passes first.
/// The operation is not waited for after the limit (a late reply is dropped).
func firstReply(within limit: Duration, _ operation: @escaping @Sendable () async -> String) async -> String? {
    let race = FirstOfTwo()
    return await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
        let timer = Task {
            try? await Task.sleep(for: limit)
            if race.claim() { continuation.resume(returning: nil) }
        }
        Task {
            let reply = await operation()
            if race.claim() {
                timer.cancel()
                continuation.resume(returning: reply)
            }
        }
    }
}

/// Lets exactly one of two racers resume a continuation.
private final class FirstOfTwo: Sendable {
    private let claimed = Locked(false)

    /// True for the first caller only.
    func claim() -> Bool {
        claimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}

import Logging
import Lonc
import NIOCore

/// Asks every peer for `load` and `userload` every interval, over its link,
/// and publishes a `HealthSnapshot` after every change.
///
/// A link is polled as soon as it comes up (at start, after a reload adds it,
/// after a reconnect), so the balancer never goes blind for an interval after
/// a restart: those first polls go out as the links come up, which TLS
/// handshakes spread already. The polls after that are spread over one
/// interval with jitter, then each peer keeps its own schedule, so a restart
/// never sends every periodic poll at once. A reply that
/// is not a number, `con_lost`, or no reply within `timeout` leaves that figure
/// unknown; the link itself is not touched (it has its own request timeout):
/// the timeout is the link's `request(_:timeout:)`, timed on its event loop.
/// Snapshots are coalesced: at most one every `publishDelay`, so 1,000 peers
/// answering within a few milliseconds cost one snapshot, not 1,000.
public final class LoadPoller: Sendable {
    /// The settings and own load source in force; a reload replaces them (`reconfigure`).
    private let configured: Locked<(settings: PollSettings, local: LocalLoad?)>
    private let logger: Logger
    private let publishDelay: Duration
    private let state: Locked<State>
    private let published = Locked(HealthSnapshot.empty)
    private let listeners = Locked<[@Sendable (HealthSnapshot) -> Void]>([])
    /// Nudged when a link comes up, so its first poll goes out at once.
    private let linksCameUp: AsyncStream<Void>
    private let linksCameUpSignal: AsyncStream<Void>.Continuation

    private struct State: Sendable {
        var peers: [String: PeerEntry] = [:]
        var order: [String] = []
        var queue = PollQueue()
        var own: LoadSample?
        var ownHistory = CircularBuffer<LoadSample>()
        var sequence: UInt64 = 0
        var generation: UInt64 = 0
        var dirty = true

        /// Records whether `id`'s link is up; true when it has just come up
        /// (it is then marked for a poll out of turn).
        mutating func note(_ id: String, isUp: Bool) -> Bool {
            guard let wasUp = peers[id]?.wasUp else { return false }
            peers[id]?.wasUp = isUp
            guard isUp, !wasUp else { return false }
            peers[id]?.pollNow = true
            return true
        }
    }

    private struct PeerEntry: Sendable {
        var link: any PeerRequesting
        var latest: LoadSample?
        var history = CircularBuffer<LoadSample>()
        var unansweredPolls = 0
        /// The link was up when last looked at: an up it was not, is a link coming up.
        var wasUp = false
        /// Polled once out of turn as soon as possible (the link just came up).
        var pollNow = false
    }

    /// Creates a poller. `local` also polls this server's own load (nil: only peers).
    public init(settings: PollSettings, local: LocalLoad?, logger: Logger, publishDelay: Duration = .milliseconds(50)) {
        self.configured = Locked((settings, local))
        self.logger = logger
        self.publishDelay = publishDelay
        self.state = Locked(State())
        (linksCameUp, linksCameUpSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The settings in force.
    public var settings: PollSettings { configured.withLock { $0.settings } }

    private var local: LocalLoad? { configured.withLock { $0.local } }

    /// Applies a reload's `poll.*` and `agent.*` (this server's load source)
    /// from the next poll on. A shorter interval also brings every peer's next
    /// poll within one new interval, so the change shows at once.
    public func reconfigure(settings: PollSettings, local: LocalLoad?) {
        let latest = NIODeadline.now() + TimeAmount(settings.interval)
        configured.withLock { $0 = (settings, local) }
        state.withLock { $0.queue.pullIn(to: latest) }
    }

    /// The latest snapshot (a copy; never blocks on a poll).
    public var snapshot: HealthSnapshot { published.withLock { $0 } }

    /// Calls `listener` with every snapshot published from now on.
    public func onSnapshot(_ listener: @escaping @Sendable (HealthSnapshot) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    /// Replaces the set of peers (start, reload). Peers that stay keep their
    /// samples and schedule; new ones are polled as soon as their link is up,
    /// and their periodic polls are spread over one interval.
    public func setPeers(_ links: [any PeerRequesting]) {
        let interval = settings.interval.secondsValue
        let now = NIODeadline.now()
        state.withLock { state in
            // Made here, not captured from outside: ThreadSanitizer crashes on an
            // empty struct captured inout by a closure (seen with Swift 6.3.1).
            var generator = SystemRandomNumberGenerator()
            let newIDs = links.map(\.peerID).filter { state.peers[$0] == nil }
            let offsets = PollSchedule.firstOffsets(count: newIDs.count, interval: interval, using: &generator)
            var offsetByID: [String: TimeAmount] = [:]
            for (id, offset) in zip(newIDs, offsets) { offsetByID[id] = .nanoseconds(Int64(offset * 1e9)) }
            var peers: [String: PeerEntry] = [:]
            for link in links {
                if var existing = state.peers[link.peerID] {
                    existing.link = link
                    peers[link.peerID] = existing
                } else {
                    peers[link.peerID] = PeerEntry(link: link, latest: nil)
                    state.queue.schedule(link.peerID, at: now + (offsetByID[link.peerID] ?? .zero))
                }
            }
            for id in state.peers.keys where peers[id] == nil { state.queue.remove(id) }
            state.peers = peers
            state.order = links.map(\.peerID)
            state.dirty = true
        }
        linkChanged()
    }

    /// The recent samples of one peer (or of this server, with `nil`), oldest first.
    public func history(of id: String?) -> [LoadSample] {
        state.withLock { state in
            guard let id else { return Array(state.ownHistory) }
            return state.peers[id].map { Array($0.history) } ?? []
        }
    }

    /// One link changed state: publishes a snapshot at once, so the balancer
    /// stops choosing a peer the moment its link drops, not at the next poll.
    /// A link that came up is polled at once. Looks at that peer only.
    public func linkChanged(_ status: LinkStatus) {
        let cameUp = state.withLock { state in
            state.dirty = true
            return state.note(status.peerID, isUp: status.state == .up)
        }
        if cameUp { linksCameUpSignal.yield() }
        publishIfDirty()
    }

    /// Any link may have changed (start, reload): looks at every peer's link.
    public func linkChanged() {
        let cameUp = state.withLock { state in
            state.dirty = true
            var cameUp = false
            for id in state.order {
                guard let link = state.peers[id]?.link else { continue }
                if state.note(id, isUp: link.status.state == .up) { cameUp = true }
            }
            return cameUp
        }
        if cameUp { linksCameUpSignal.yield() }
        publishIfDirty()
    }

    /// Polls until the task is cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.publishLoop() }
            group.addTask { await self.scheduleLoop() }
            group.addTask { await self.firstPollLoop() }
            await group.waitForAll()
        }
    }

    // MARK: - Scheduling

    private func scheduleLoop() async {
        var nextOwn = NIODeadline.now()
        await withDiscardingTaskGroup { polls in
            while !Task.isCancelled {
                let (settings, local) = configured.withLock { $0 }
                let interval = TimeAmount(settings.interval)
                let now = NIODeadline.now()
                if nextOwn > now + interval { nextOwn = now + interval }
                if local != nil, now >= nextOwn {
                    nextOwn = now + interval
                    polls.addTask { self.pollOwn() }
                }
                let (due, wake): ([any PeerRequesting], NIODeadline) = state.withLock { state in
                    let due = state.queue.takeDue(now: now, interval: interval).compactMap { state.peers[$0]?.link }
                    return (due, state.queue.nextDue() ?? now + interval)
                }
                for link in due {
                    polls.addTask { await self.poll(link) }
                }
                let untilNext = min(max(min(wake, local == nil ? wake : nextOwn) - .now(), .milliseconds(1)), interval)
                try? await Task.sleep(for: Duration(untilNext) + .milliseconds(1))
            }
            polls.cancelAll()
        }
    }

    /// Polls each link that just came up, out of turn; its periodic schedule is untouched.
    private func firstPollLoop() async {
        await withDiscardingTaskGroup { polls in
            for await _ in linksCameUp {
                let links: [any PeerRequesting] = state.withLock { state in
                    var links: [any PeerRequesting] = []
                    for id in state.order where state.peers[id]?.pollNow == true {
                        state.peers[id]?.pollNow = false
                        if let link = state.peers[id]?.link { links.append(link) }
                    }
                    return links
                }
                for link in links {
                    polls.addTask { await self.poll(link) }
                }
            }
        }
    }

    private func pollOwn() {
        let (settings, local) = configured.withLock { $0 }
        guard let local else { return }
        state.withLock { state in
            state.sequence &+= 1
            let sample = local.sample(sequence: state.sequence)
            state.own = sample
            state.ownHistory.append(sample, keepingAtMost: settings.history)
            state.dirty = true
        }
    }

    private func poll(_ link: any PeerRequesting) async {
        let replies = await link.request([WireProtocol.load, WireProtocol.userload], timeout: settings.timeout)
        let (loadReply, userReply) = (replies.first ?? nil, replies.dropFirst().first ?? nil)
        let loadPercent = loadReply.flatMap(WireNumber.parse)
        let userPercent = userReply.flatMap(WireNumber.parse)
        // Silence or con_lost on both is no answer: the peer is excluded now, not when its sample goes stale.
        let answered = [loadReply, userReply].contains { $0 != nil && $0 != WireReply.connectionLost }
        // A figure that did not arrive in time is not known to be unknown: a new sample needs both
        // replies. A reply that is not a number (the agent's `unknown`) does make that figure unknown.
        let missing = [loadReply, userReply].contains { $0 == nil || $0 == WireReply.connectionLost }
        if missing || (loadPercent == nil && userPercent == nil) {
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
            entry.history.append(sample, keepingAtMost: settings.history)
            state.peers[link.peerID] = entry
            state.dirty = true
        }
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

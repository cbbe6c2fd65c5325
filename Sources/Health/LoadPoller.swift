import Logging
import Lonc
import NIOCore
import NIOPosix

/// Asks every peer for `load` and `userload` every interval, over its link,
/// and tells its listeners what changed.
///
/// A link is polled as soon as it comes up (at start, after a reload adds it,
/// after a reconnect), so the balancer never goes blind for an interval after
/// a restart. The polls after that are spread over one interval with jitter,
/// then each peer keeps its own schedule (`PollQueue`), so a restart never
/// sends every periodic poll at once. A reply that is not a number,
/// `con_lost`, or no reply within `timeout` leaves that figure unknown; the
/// link itself is not touched (it has its own request timeout).
///
/// Everything runs on one event loop, the links' own: a scheduled task (the
/// tick) wakes when the next poll is due or the next poll in flight gives up,
/// hands each due link its requests (`PeerRequesting.request(_:eachReply:)`,
/// no task, no thread hop, no timer) and sweeps the polls whose `timeout`
/// passed (`PollsInFlight`). So the loop's timer heap holds one tick for the
/// poller, not one timer per poll in flight (10,000 at 10,000 peers). The peers live in a `PeerTable`: a link
/// change or an answer costs O(1), and an update to the listeners carries
/// only the peers that changed. Updates are coalesced: a link that stops
/// being up is published on the loop's next turn (the balancer stops choosing
/// it at once), anything else at most `publishDelay` later, so 1,000 peers
/// answering within a few milliseconds cost one update, not 1,000. A peer
/// that answered twice within one window is handed out with both samples
/// (`PeerChange.superseded`): coalescing never hides one from the balancer.
public final class LoadPoller: LinkListener {
    /// The settings and own load source in force; a reload replaces them (`reconfigure`).
    let configured: Locked<(settings: PollSettings, local: LocalLoad?)>
    let logger: Logger
    let publishDelay: Duration
    let loop: any EventLoop
    let state: Locked<State>
    let listeners = Locked<[@Sendable (HealthUpdate) -> Void]>([])

    struct State: Sendable {
        var table = PeerTable<any PeerRequesting>()
        var queue = PollQueue()
        var inFlight = PollsInFlight()
        var own: LoadSample?
        var ownHistory = CircularBuffer<LoadSample>()
        var ownChanged = true
        var nextOwn = NIODeadline.now()
        var sequence: UInt64 = 0
        var generation: UInt64 = 0
        var running = false
        var tick: Scheduled<Void>?
        /// When the tick scheduled last wakes, and its number: an earlier
        /// wake-up schedules a new tick rather than cancel this one (NIO
        /// cancels by a linear search of its timer heap); a tick whose number
        /// is not the latest does nothing.
        var tickAt = NIODeadline.distantFuture
        var tickNumber: UInt64 = 0
        var publish = PublishPending.none
    }

    enum PublishPending: Sendable { case none, later, soon }

    /// The loop of pollers given none (tests): a thread of its own, not NIO's
    /// shared loops, which other code in the process may hold up.
    private static let ownLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Creates a poller. `local` also polls this server's own load (nil: only
    /// peers). `eventLoop`: where the polls are scheduled, the links' own loop
    /// in the daemon (nil: a loop of the pollers' own, for tests).
    public init(settings: PollSettings, local: LocalLoad?, logger: Logger, publishDelay: Duration = .milliseconds(50), eventLoop: (any EventLoop)? = nil) {
        self.configured = Locked((settings, local))
        self.logger = logger
        self.publishDelay = publishDelay
        self.loop = eventLoop ?? Self.ownLoop.next()
        self.state = Locked(State())
    }

    /// The settings in force.
    public var settings: PollSettings { configured.withLock { $0.settings } }

    /// Applies a reload's `poll.*` and `agent.*` (this server's load source)
    /// from the next poll on. A shorter interval also brings every peer's next
    /// poll within one new interval, so the change shows at once.
    public func reconfigure(settings: PollSettings, local: LocalLoad?) {
        let latest = NIODeadline.now() + TimeAmount(settings.interval)
        configured.withLock { $0 = (settings, local) }
        state.withLock { $0.queue.pullIn(to: latest) }
        loop.execute { self.tick() }
    }

    /// The current picture of every peer: O(1), it shares the poller's storage.
    public var snapshot: HealthSnapshot {
        state.withLock { HealthSnapshot(generation: $0.generation, own: $0.own, peers: $0.table.peers, index: $0.table.index) }
    }

    /// Calls `listener` with every update published from now on (on the poller's event loop).
    public func onUpdate(_ listener: @escaping @Sendable (HealthUpdate) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    /// Replaces the set of peers (start, reload). Peers that stay keep their
    /// samples and schedule; new ones are polled as soon as their link is up,
    /// and their periodic polls are spread over one interval.
    public func setPeers(_ links: [any PeerRequesting]) {
        let interval = settings.interval.secondsValue
        let now = NIODeadline.now()
        let statuses = links.map { ($0.peerID, $0, $0.status) }
        state.withLock { state in
            let before = Set(state.table.index.keys)
            let added = state.table.replace(with: statuses)
            // Made here, not captured from outside: ThreadSanitizer crashes on an
            // empty struct captured inout by a closure (seen with Swift 6.3.1).
            var generator = SystemRandomNumberGenerator()
            let offsets = PollSchedule.firstOffsets(count: added.count, interval: interval, using: &generator)
            for (id, offset) in zip(added, offsets) { state.queue.schedule(id, at: now + .nanoseconds(Int64(offset * 1e9))) }
            for id in before where state.table.index[id] == nil { state.queue.remove(id) }
        }
        linkChanged()
    }

    /// The recent samples of one peer (or of this server, with `nil`), oldest first.
    public func history(of id: String?) -> [LoadSample] {
        state.withLock { state in
            guard let id else { return Array(state.ownHistory) }
            return state.table.history(of: id)
        }
    }

    /// One link changed state: O(1). A link that came up is polled at once; a
    /// link that is no longer up is published on the loop's next turn, so the
    /// balancer stops choosing it before the next poll.
    public func linkChanged(_ change: LinkChange) {
        let status = change.status
        let pollNow: (any PeerRequesting)? = state.withLock { state in
            state.table.noteLink(status, polling: state.running) && state.running ? state.table.link(status.peerID) : nil
        }
        if let pollNow { poll(pollNow) }
        requestPublish(soon: status.state != .up)
    }

    /// Any link may have changed (start, reload): looks at every peer's link.
    public func linkChanged() {
        let links = state.withLock { $0.table.links }
        let statuses = links.map(\.status)
        let cameUp: [any PeerRequesting] = state.withLock { state in
            zip(links, statuses).compactMap { link, status in state.table.noteLink(status, polling: state.running) && state.running ? link : nil }
        }
        cameUp.forEach(poll)
        requestPublish(soon: true)
    }

    /// Polls until the task is cancelled.
    public func run() async {
        loop.execute {
            let pending = self.state.withLock { state in
                state.running = true
                return state.table.takePollNow()
            }
            pending.forEach(self.poll)
            self.tick()
        }
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        state.withLock { state in
            state.running = false
            state.tick?.cancel()
            state.tick = nil
            state.tickNumber &+= 1
        }
    }

    // MARK: - Scheduling (on the loop)

    /// Sends every poll that is due, finishes the polls in flight whose
    /// timeout passed, and schedules the next wake-up. Wake-ups are at least
    /// `granularity` apart: a poll goes out, or gives up, up to that late, and
    /// 10,000 peers cost 20 wake-ups a second, not 10,000.
    private func tick(_ number: UInt64? = nil) {
        let (settings, local) = configured.withLock { $0 }
        let interval = TimeAmount(settings.interval)
        let now = NIODeadline.now()
        let granularity = Self.granularity(interval)
        let work: (due: [any PeerRequesting], expired: [PollsInFlight.Finished], pollOwn: Bool)? = state.withLock { state in
            guard state.running, number == nil || number == state.tickNumber else { return nil }
            var pollOwn = false
            if state.nextOwn > now + interval { state.nextOwn = now + interval }
            if local != nil, now >= state.nextOwn {
                state.nextOwn = now + interval
                pollOwn = true
            }
            let expired = state.inFlight.expire(now: now)
            let due = state.queue.takeDue(now: now, interval: interval).compactMap { state.table.link($0) }
            var wake = state.queue.nextDue() ?? now + interval
            if local != nil { wake = min(wake, state.nextOwn) }
            if let giveUp = state.inFlight.nextDeadline() { wake = min(wake, giveUp) }
            wake = min(max(wake, now + granularity), now + interval)
            scheduleTick(at: wake, in: &state)
            return (due, expired, pollOwn)
        }
        guard let work else { return }
        // Reading the sessions folder is file I/O: off the loop.
        if work.pollOwn { Task { self.pollOwn() } }
        for poll in work.expired { record(poll.replies, from: poll.peerID) }
        work.due.forEach(poll)
    }

    /// A twentieth of the interval, at most 50 ms (50 ms at the usual 1–2 s):
    /// the polls due within it go out together, so their writes and their
    /// replies share the loop's wake-ups. At 1,000 peers a 5 ms tick meant
    /// about 1,750 wake-ups a second, each a trip through `epoll_wait` and a
    /// context switch, more than the polls' own work; 50 ms, about 80. A poll
    /// goes out, and a poll in flight gives up, at most that late.
    private static func granularity(_ interval: TimeAmount) -> TimeAmount {
        min(TimeAmount.milliseconds(50), .nanoseconds(interval.nanoseconds / 20))
    }

    /// Makes the next tick wake at `wake`; the tick scheduled before is left
    /// to fire and finds itself outdated.
    private func scheduleTick(at wake: NIODeadline, in state: inout State) {
        state.tickNumber &+= 1
        state.tickAt = wake
        let number = state.tickNumber
        state.tick = loop.scheduleTask(deadline: wake) { self.tick(number) }
    }

    private func pollOwn() {
        let (settings, local) = configured.withLock { $0 }
        guard let local else { return }
        state.withLock { state in
            state.sequence &+= 1
            let sample = local.sample(sequence: state.sequence)
            state.own = sample
            state.ownHistory.append(sample, keepingAtMost: settings.history)
            state.ownChanged = true
        }
        requestPublish(soon: false)
    }

    private static let pollLines = [WireProtocol.load, WireProtocol.userload]

    /// Sends one poll; it ends with its last reply or at the first tick past
    /// its timeout (a tick is brought forward if none would come by then).
    private func poll(_ link: any PeerRequesting) {
        let settings = settings
        let now = NIODeadline.now()
        let giveUp = now + TimeAmount(settings.timeout)
        let token: UInt64? = state.withLock { state in
            guard state.running else { return nil }
            let token = state.inFlight.start(link.peerID, lines: Self.pollLines.count, deadline: giveUp)
            let latest = max(giveUp, now + Self.granularity(TimeAmount(settings.interval)))
            if state.tickAt > latest { scheduleTick(at: latest, in: &state) }
            return token
        }
        guard let token else { return }
        link.request(Self.pollLines) { index, reply in
            let finished = self.state.withLock { $0.inFlight.answer(token, index: index, reply: reply) }
            if let finished { self.record(finished.replies, from: finished.peerID) }
        }
    }
}

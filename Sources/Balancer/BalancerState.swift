/// The policy's memory between decisions, as a value: the predicted-load
/// ledgers, the hysteresis latches, slow-start shares, the shares' running
/// scores, counters and the decision log. The caller keeps one behind a small
/// lock and
///
/// - calls `update(_:now:)` whenever a new health snapshot is published,
/// - calls `route(now:)` for every login (the hot path: no allocation when the
///   decision repeats one already logged for this snapshot),
/// - calls `explain(now:)` for /health and /status (no side effects).
///
/// Sharing (modes `always` and `overflow`): each eligible spare has *room*,
/// the logins it can take before its predicted load reaches `max_load`
/// (`SpareLedger`: its sample, plus the logins booked there that the sample
/// does not show yet, at each figure's cost). Logins go to spares in
/// proportion to their room, by smooth weighted round-robin (nginx's, as
/// HAProxy's `roundrobin` with dynamic weights): the spare with the most room
/// takes the most, none takes them all. In proportion, not to the least busy
/// alone, because several balancers (every access server runs one) cannot
/// see each other's logins until the load average shows them: all sending to
/// the one that looked least busy is the herd. Shares in proportion to room
/// never overfill a spare while the cluster as a whole has room, however many
/// balancers decide and however old their samples (docs/BALANCING.md).
///
/// Slow start: a spare that comes back (its link up again, undrained) has a
/// share `s = (now − joined) / slowStart` growing from 0 to 1 that scales its
/// weight, as HAProxy's `slowstart`; spares that join at this balancer's own
/// start do not (they were not away). Slow start shapes the share, it never
/// turns logins away: a lone spare at share 0 still takes them.
///
/// Tiers: the slots hold the spares, then the backups. A backup is considered
/// only when no spare has room, and then under the same rules. When no spare
/// or backup has room, the one with the least predicted load takes the login
/// anyway: its sample is below `max_load`, and refusing a login the cluster
/// may have room for is no way to stay under it.
public struct BalancerState: Sendable {
    /// The policy in force.
    public private(set) var policy: BalancerPolicy
    var slots: [SpareSlot]
    /// By slot, the scalars the hot path reads, side by side in one array (a
    /// decision never touches the slots' strings, and a scan walks memory in order).
    var facts: [FastFacts]
    /// The slots of each id (one, unless an id is both spare and backup).
    var slotsByID: [String: [Int]] = [:]
    /// Slots `0..<spareCount` are spares, the rest backups.
    private(set) var spareCount: Int
    var own: LoadReading?
    var ownLedger = SpareLedger()
    var ownSequence: UInt64?
    /// When this state first took an update: spares available within `staleAfter` of it join at full share.
    var startedAt: Double?
    var roundRobinCursor = 0
    var generation: UInt64 = 0
    /// The water levels of the spares and of the backups, for `levelsGeneration`.
    var levels = (spares: 0.0, backups: 0.0)
    var levelsGeneration: UInt64?
    var levelsAt = -Double.infinity
    /// Tiers found with no room in `generation` (their decisions go straight to the samples' headroom).
    var fullRanges: (generation: UInt64, ranges: [Range<Int>]) = (0, [])
    /// How many logins a second this balancer sends (`DemandRate`).
    var demand = DemandRate()
    var slowStarting = 0
    /// Logins sent to this server, and answered with no target.
    public private(set) var localCount = 0
    /// Logins that found no target (503).
    public private(set) var noneCount = 0
    /// Logins sent to a backup because no spare could take them.
    public private(set) var backupCount = 0
    /// Returning logins sent back to the server their cookie names.
    public private(set) var returningCount = 0
    /// Logins answered without booking (their client was over its booking rate).
    public private(set) var unbookedCount = 0
    var verdictCache: (generation: UInt64, verdicts: [CandidateVerdict])?
    var recordsThisGeneration: (generation: UInt64, count: Int) = (0, 0)
    /// At most this many distinct decisions are recorded per snapshot; the rest are counted.
    static let recordsPerSnapshot = 25
    var localRecord: LogMark?
    var noneRecord: LogMark?
    /// The last 100 distinct decisions.
    public internal(set) var log = DecisionLog(capacity: 100)

    /// Where in the log this target's decision for the current snapshot is.
    struct LogMark: Sendable {
        var generation: UInt64
        var sequence: UInt64
    }

    /// The policy's randomness (a value: a run is repeatable for a seed).
    var random: SplitMix64

    /// Starts with every spare unknown (link not up, no sample). `seed` fixes
    /// the policy's random choices (nil: seeded from the system's generator).
    public init(policy: BalancerPolicy, seed: UInt64? = nil) {
        self.policy = policy
        self.random = seed.map(SplitMix64.init(seed:)) ?? SplitMix64()
        self.spareCount = policy.spares.count
        self.slots = (policy.spares + policy.backups).map {
            SpareSlot(observation: SpareObservation(id: $0, domain: "", linkUp: false, linkState: "connecting", reading: nil))
        }
        self.facts = Array(repeating: FastFacts(), count: slots.count)
        indexSlots()
    }

    private mutating func indexSlots() {
        slotsByID = [:]
        for index in slots.indices { slotsByID[slots[index].observation.id, default: []].append(index) }
    }

    /// Takes a new policy (a config reload), keeping what it knows of spares that stay.
    public mutating func reconfigure(_ newPolicy: BalancerPolicy) {
        var byID: [String: SpareSlot] = [:]
        for slot in slots { byID[slot.observation.id] = slot }
        spareCount = newPolicy.spares.count
        slots = (newPolicy.spares + newPolicy.backups).map {
            byID[$0] ?? SpareSlot(observation: SpareObservation(id: $0, domain: "", linkUp: false, linkState: "connecting", reading: nil))
        }
        policy = newPolicy
        indexSlots()
        facts = Array(repeating: FastFacts(), count: slots.count)
        for index in slots.indices { refreshFacts(index) }
        roundRobinCursor = 0
        slowStarting = slots.filter { $0.joinedAt != nil }.count
        generation &+= 1
    }

    /// Logins sent to each spare and backup, by id, in configured order (spares first).
    public var redirectsBySpare: [(id: String, count: Int)] { slots.map { ($0.observation.id, $0.redirects) } }

    /// The same verdict as `exclusion(_:now:) == nil`, from scalars only: the hot path.
    func isEligible(_ index: Int, now: Double) -> Bool {
        let facts = facts[index]
        return facts.admissible && now <= facts.freshUntil
    }

    // MARK: - The hot path

    /// Decides where one login goes and books it in the target's ledger;
    /// counters and the log are updated.
    ///
    /// `returningTo`: the server a returning user's cookie names. The login goes
    /// back there while it is an eligible spare (an eligible backup only while
    /// no spare can take the login); any other value is ignored, so a forged
    /// cookie can never name a server outside the policy or an excluded one.
    ///
    /// `books` false: decide the same way but book nothing (no ledger, no
    /// demand): the client is over its booking rate (a flood must not fill
    /// the predictions). Counted in `unbookedCount`.
    public mutating func route(now: Double, returningTo returning: String? = nil, books: Bool = true) -> RouteTarget {
        endFinishedSlowStarts(now: now)
        var choice = choose(now: now)
        if let returning, let index = returningIndex(returning, now: now, instead: choice) {
            choice = .spare(index, .returning)
        }
        // Log with the figures the decision was taken on, before booking it.
        switch choice {
        case .local:
            localRecord = logged(localRecord, now: now, choice: choice)
            if books { ownLedger.book(at: now) }
            localCount += 1
        case .none:
            noneRecord = logged(noneRecord, now: now, choice: choice)
            noneCount += 1
        case .spare(let index, .returning):
            slots[index].returningRecord = logged(slots[index].returningRecord, now: now, choice: choice)
            returningCount += 1
        case .spare(let index, _):
            slots[index].record = logged(slots[index].record, now: now, choice: choice)
        }
        if case .spare(let index, _) = choice {
            if books {
                demand.book()
                slots[index].ledger.book(at: now)
                facts[index].booked += 1
                facts[index].settle()
                facts[index].weigh(below: index < spareCount ? levels.spares : levels.backups)
            }
            slots[index].redirects += 1
            if index >= spareCount { backupCount += 1 }
            if policy.mode == .roundRobin, index < spareCount { roundRobinCursor = index + 1 }
        }
        if !books { unbookedCount += 1 }
        switch choice {
        case .local: return .local
        case .none: return .none
        case .spare(let index, _): return .spare(slots[index].observation.id)
        }
    }

    /// What `route` would decide now, explained, without booking anything.
    public func explain(now: Double) -> Decision {
        var copy = self
        copy.endFinishedSlowStarts(now: now)
        return copy.explained(now: now, choice: copy.choose(now: now))
    }

    // MARK: - Choosing

    enum Choice {
        case local(Reason)
        case none(Reason)
        case spare(Int, Reason)

        var spareIndex: Int? {
            if case .spare(let index, _) = self { return index }
            return nil
        }
    }

    enum Reason {
        case ownUnknown
        case ownWithinLimit(Double)
        case ownOverNoneLess(Double)
        case ownOverSpare(Double)
        case ownOverBackup(Double)
        case leastBusy
        case noneEligible
        case nextInTurn
        case backup
        case returning
    }

    mutating func choose(now: Double) -> Choice {
        let spares = 0..<spareCount, backups = spareCount..<slots.count
        switch policy.mode {
        case .overflow:
            guard let ownLoad = ownPredicted else { return .local(.ownUnknown) }
            if ownLoad <= 100 { return .local(.ownWithinLimit(ownLoad)) }
            let spare = share(in: spares, now: now, below: ownLoad)
            if let index = spare.room { return .spare(index, .ownOverSpare(ownLoad)) }
            let backup = share(in: backups, now: now, below: ownLoad)
            if let index = backup.room { return .spare(index, .ownOverBackup(ownLoad)) }
            if let index = spare.full { return .spare(index, .ownOverSpare(ownLoad)) }
            if let index = backup.full { return .spare(index, .ownOverBackup(ownLoad)) }
            return .local(.ownOverNoneLess(ownLoad))
        case .always, .roundRobin:
            let spare = policy.mode == .always ? share(in: spares, now: now, below: nil) : nextInTurn(now: now)
            if let index = spare.room { return .spare(index, policy.mode == .always ? .leastBusy : .nextInTurn) }
            let backup = share(in: backups, now: now, below: nil)
            if let index = backup.room { return .spare(index, .backup) }
            if let index = spare.full { return .spare(index, policy.mode == .always ? .leastBusy : .nextInTurn) }
            if let index = backup.full { return .spare(index, .backup) }
            return .none(.noneEligible)
        }
    }

    /// The load the spare is heading for with the logins booked there: its
    /// sample plus what the sample does not show yet (`SpareLedger`).
    @inline(__always)
    func predicted(_ index: Int) -> Double { facts[index].predicted }

    /// This server's own load, predicted the same way (nil when unknown).
    var ownPredicted: Double? {
        guard let own, let effective = own.effective else { return nil }
        let (loadCost, userCost) = costs(of: ownLedger)
        var load = (own.load ?? effective) + loadCost * ownLedger.residual
        if let trend = ownLedger.trendSettled(timeConstant: policy.loadTimeConstant) { load = max(load, trend) }
        return max(load + loadCost * ownLedger.sinceSample, (own.userload ?? effective) + userCost * ownLedger.pendingSessions)
    }
}

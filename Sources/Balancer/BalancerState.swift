/// The policy's memory between decisions, as a value: the predicted-load
/// ledger, the hysteresis latches, slow-start shares, the round-robin cursor,
/// counters and the decision log. The caller keeps one behind a small lock and
///
/// - calls `update(_:now:)` whenever a new health snapshot is published,
/// - calls `route(now:)` for every login (the hot path: no allocation when the
///   decision repeats one already logged for this snapshot),
/// - calls `explain(now:)` for /health and /status (no side effects).
///
/// Slow start: a spare whose link comes up, or that is undrained, has a share
/// `s = (now − joined) / slowStart` that grows from 0 to 1. Each decision in
/// which it is eligible adds `s` to its credit (capped at 2); it competes for
/// the login only while its credit is at least 1, and being chosen spends 1. So
/// over any run of decisions it takes at most a fraction `s` of them, however
/// low its load. When no spare at full share is eligible, a held-back spare is
/// still chosen: slow start shapes the share, it never turns logins away.
///
/// Tiers: the slots hold the spares, then the backups. A backup is considered
/// only when no spare can take the login, and then under the same rules.
/// Admission: a candidate whose predicted load (its sample plus the logins
/// booked since) reaches `max_load` waits for its next sample. Ties in
/// predicted load are taken in turn, from just after the last one chosen.
public struct BalancerState: Sendable {
    /// The policy in force.
    public private(set) var policy: BalancerPolicy
    var slots: [SpareSlot]
    /// The slots of each id (one, unless an id is both spare and backup).
    var slotsByID: [String: [Int]] = [:]
    /// Slots `0..<spareCount` are spares, the rest backups.
    private(set) var spareCount: Int
    var own: LoadReading?
    var ownExtra: Double = 0
    var ownSequence: UInt64?
    var roundRobinCursor = 0
    /// Where the search for the least busy starts, so equal loads are taken in turn.
    var tieCursor = 0
    var generation: UInt64 = 0
    var slowStarting = 0
    /// Logins sent to this server, and answered with no target.
    public private(set) var localCount = 0
    /// Logins that found no target (503).
    public private(set) var noneCount = 0
    /// Logins sent to a backup because no spare could take them.
    public private(set) var backupCount = 0
    /// Returning logins sent back to the server their cookie names.
    public private(set) var returningCount = 0
    var verdictCache: (generation: UInt64, verdicts: [CandidateVerdict])?
    var recordsThisGeneration: (generation: UInt64, count: Int) = (0, 0)
    /// At most this many distinct decisions are recorded per snapshot; the rest are counted.
    static let recordsPerSnapshot = 25
    var localRecord: LogMark?
    var noneRecord: LogMark?
    /// The last 100 distinct decisions.
    public internal(set) var log = DecisionLog(capacity: 100)

    struct SpareSlot: Sendable {
        var observation: SpareObservation
        var lastSequence: UInt64?
        var overloaded = false
        var joinedAt: Double?
        var credit: Double = 0
        var redirects = 0
        var record: LogMark?
        /// This slot's record of returning logins for the current snapshot.
        var returningRecord: LogMark?
        /// Scalars the hot path reads, so a decision never copies the strings above.
        var fast = FastFacts()

        /// The predicted-load ledger: points booked since the last sample (kept with the hot scalars).
        var extra: Double {
            get { fast.extra }
            set { fast.extra = newValue }
        }

        /// Link up, answering polls, not draining: coming back to this starts slow start.
        var available: Bool { observation.linkUp && observation.unansweredPolls == 0 && observation.drain == nil }
    }

    /// What eligibility needs, as plain values side by side (refreshed on every update).
    struct FastFacts: Sendable {
        /// Link up, answering, not draining, in the right domain, a numeric sample
        /// below max_load, not awaiting readmission: all but freshness and the ledger.
        var admissible = false
        var effective = Double.nan  // NaN: no sample or unknown
        var takenAt = 0.0
        var extra = 0.0
    }

    /// Where in the log this target's decision for the current snapshot is.
    struct LogMark: Sendable {
        var generation: UInt64
        var sequence: UInt64
    }

    /// Starts with every spare unknown (link not up, no sample).
    public init(policy: BalancerPolicy) {
        self.policy = policy
        self.spareCount = policy.spares.count
        self.slots = (policy.spares + policy.backups).map {
            SpareSlot(observation: SpareObservation(id: $0, domain: "", linkUp: false, linkState: "connecting", reading: nil))
        }
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
        for index in slots.indices { refreshFacts(index) }
        roundRobinCursor = 0
        tieCursor = 0
        slowStarting = slots.filter { $0.joinedAt != nil }.count
        generation &+= 1
    }

    /// Logins sent to each spare and backup, by id, in configured order (spares first).
    public var redirectsBySpare: [(id: String, count: Int)] { slots.map { ($0.observation.id, $0.redirects) } }

    mutating func refreshFacts(_ index: Int) {
        let observation = slots[index].observation
        let effective = observation.reading?.effective ?? .nan
        slots[index].fast = FastFacts(
            admissible: observation.linkUp && observation.unansweredPolls == 0 && observation.drain == nil
                && (!policy.sameDomain || observation.domain == policy.ownDomain)
                && !effective.isNaN && effective < policy.maxLoad && !slots[index].overloaded,
            effective: effective,
            takenAt: observation.reading?.takenAt ?? 0,
            extra: slots[index].fast.extra)
    }

    /// The same verdict as `exclusion(_:now:) == nil`, from scalars only: the hot path.
    func isEligible(_ index: Int, now: Double) -> Bool {
        let facts = slots[index].fast
        return facts.admissible && now - facts.takenAt <= policy.staleAfter && facts.effective + facts.extra < policy.maxLoad
    }

    // MARK: - The hot path

    /// Decides where one login goes and books it: the ledger grows by the login
    /// cost, slow-start credit is spent, counters and the log are updated.
    ///
    /// `returningTo`: the server a returning user's cookie names. The login goes
    /// back there while it is an eligible spare (an eligible backup only while
    /// no spare can take the login); any other value is ignored, so a forged
    /// cookie can never name a server outside the policy or an excluded one.
    public mutating func route(now: Double, returningTo returning: String? = nil) -> RouteTarget {
        endFinishedSlowStarts(now: now)
        var choice = choose(now: now)
        if let returning, let index = returningIndex(returning, now: now, instead: choice) {
            choice = .spare(index, .returning)
        }
        // Log with the figures the decision was taken on, before booking it.
        switch choice {
        case .local:
            localRecord = logged(localRecord, now: now, choice: choice)
            ownExtra += policy.loginCost
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
            slots[index].extra += policy.loginCost
            slots[index].redirects += 1
            if index >= spareCount { backupCount += 1 }
            if policy.mode == .roundRobin, index < spareCount { roundRobinCursor = index + 1 }
            tieCursor = index + 1
        }
        if slowStarting > 0 { accrueCredit(now: now, chosen: choice.spareIndex) }
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

    func choose(now: Double) -> Choice {
        let spares = 0..<spareCount, backups = spareCount..<slots.count
        switch policy.mode {
        case .overflow:
            guard let load = own?.effective else { return .local(.ownUnknown) }
            let ownLoad = load + ownExtra
            if ownLoad <= 100 { return .local(.ownWithinLimit(ownLoad)) }
            if let index = leastBusy(in: spares, now: now, below: ownLoad) { return .spare(index, .ownOverSpare(ownLoad)) }
            if let index = leastBusy(in: backups, now: now, below: ownLoad) { return .spare(index, .ownOverBackup(ownLoad)) }
            return .local(.ownOverNoneLess(ownLoad))
        case .always:
            if let index = leastBusy(in: spares, now: now, below: nil) { return .spare(index, .leastBusy) }
            if let index = leastBusy(in: backups, now: now, below: nil) { return .spare(index, .backup) }
            return .none(.noneEligible)
        case .roundRobin:
            if let index = nextInTurn(now: now) { return .spare(index, .nextInTurn) }
            if let index = leastBusy(in: backups, now: now, below: nil) { return .spare(index, .backup) }
            return .none(.noneEligible)
        }
    }

    func predicted(_ index: Int) -> Double {
        let facts = slots[index].fast
        return (facts.effective.isNaN ? 0 : facts.effective) + facts.extra
    }
}

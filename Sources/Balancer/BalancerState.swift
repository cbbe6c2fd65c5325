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
public struct BalancerState: Sendable {
    /// The policy in force.
    public private(set) var policy: BalancerPolicy
    private var slots: [SpareSlot]
    private var own: LoadReading?
    private var ownExtra: Double = 0
    private var ownSequence: UInt64?
    private var roundRobinCursor = 0
    private var generation: UInt64 = 0
    private var slowStarting = 0
    /// Logins sent to this server, and answered with no target.
    public private(set) var localCount = 0
    /// Logins that found no target (503).
    public private(set) var noneCount = 0
    private var verdictCache: (generation: UInt64, verdicts: [CandidateVerdict])?
    private var recordsThisGeneration: (generation: UInt64, count: Int) = (0, 0)
    /// At most this many distinct decisions are recorded per snapshot; the rest are counted.
    static let recordsPerSnapshot = 25
    private var localRecord: LogMark?
    private var noneRecord: LogMark?
    /// The last 100 distinct decisions.
    public private(set) var log = DecisionLog(capacity: 100)

    private struct SpareSlot: Sendable {
        var observation: SpareObservation
        var extra: Double = 0
        var lastSequence: UInt64?
        var overloaded = false
        var joinedAt: Double?
        var credit: Double = 0
        var redirects = 0
        var record: LogMark?
        /// Scalars the hot path reads, so a decision never copies the strings above.
        var fast = FastFacts()

        /// Link up, answering polls, not draining: coming back to this starts slow start.
        var available: Bool { observation.linkUp && observation.unansweredPolls == 0 && observation.drain == nil }
    }

    /// What eligibility needs, as plain values (refreshed on every update).
    private struct FastFacts: Sendable {
        var usable = false  // link up, answering, not draining, in the right domain
        var effective = Double.nan  // NaN: no sample or unknown
        var takenAt = 0.0
    }

    /// Where in the log this target's decision for the current snapshot is.
    private struct LogMark: Sendable {
        var generation: UInt64
        var sequence: UInt64
    }

    /// Starts with every spare unknown (link not up, no sample).
    public init(policy: BalancerPolicy) {
        self.policy = policy
        self.slots = policy.spares.map {
            SpareSlot(observation: SpareObservation(id: $0, domain: "", linkUp: false, linkState: "connecting", reading: nil))
        }
    }

    /// Takes a new policy (a config reload), keeping what it knows of spares that stay.
    public mutating func reconfigure(_ newPolicy: BalancerPolicy) {
        var byID: [String: SpareSlot] = [:]
        for slot in slots { byID[slot.observation.id] = slot }
        slots = newPolicy.spares.map {
            byID[$0] ?? SpareSlot(observation: SpareObservation(id: $0, domain: "", linkUp: false, linkState: "connecting", reading: nil))
        }
        policy = newPolicy
        for index in slots.indices { refreshFacts(index) }
        roundRobinCursor = 0
        slowStarting = slots.filter { $0.joinedAt != nil }.count
        generation &+= 1
    }

    /// Logins sent to each spare, by id.
    public var redirectsBySpare: [(id: String, count: Int)] { slots.map { ($0.observation.id, $0.redirects) } }

    // MARK: - New information

    /// Takes a new snapshot of this server and its spares.
    ///
    /// A fresh sample (a new `sequence`) resets that server's predicted-load
    /// ledger and updates its hysteresis latch; a spare that becomes available
    /// (link up, answering polls, not draining) starts slow start.
    public mutating func update(_ input: BalancerInput, now: Double) {
        if let reading = input.own, reading.sequence != ownSequence {
            ownSequence = reading.sequence
            ownExtra = 0
        }
        own = input.own

        var observations: [String: SpareObservation] = [:]
        for observation in input.spares { observations[observation.id] = observation }
        for index in slots.indices {
            let id = slots[index].observation.id
            let wasAvailable = slots[index].available
            slots[index].observation = observations[id]
                ?? SpareObservation(id: id, domain: "", linkUp: false, linkState: "unknown", reading: nil)
            if !wasAvailable, slots[index].available, policy.slowStart > 0 {
                slots[index].joinedAt = now
                slots[index].credit = 0
            }
            if let reading = slots[index].observation.reading, reading.sequence != slots[index].lastSequence {
                slots[index].lastSequence = reading.sequence
                slots[index].extra = 0
                if let load = reading.effective {
                    if load >= policy.maxLoad {
                        slots[index].overloaded = true
                    } else if load < policy.readmitLoad {
                        slots[index].overloaded = false
                    }
                }
            }
        }
        for index in slots.indices { refreshFacts(index) }
        slowStarting = slots.reduce(0) { $0 + ($1.joinedAt != nil ? 1 : 0) }
        generation &+= 1
    }

    private mutating func refreshFacts(_ index: Int) {
        let observation = slots[index].observation
        slots[index].fast = FastFacts(
            usable: observation.linkUp && observation.unansweredPolls == 0 && observation.drain == nil
                && (!policy.sameDomain || observation.domain == policy.ownDomain),
            effective: observation.reading?.effective ?? .nan,
            takenAt: observation.reading?.takenAt ?? 0)
    }

    /// The same verdict as `exclusion(_:now:) == nil`, from scalars only: the hot path.
    private func isEligible(_ index: Int, now: Double) -> Bool {
        let facts = slots[index].fast
        return facts.usable && !facts.effective.isNaN && now - facts.takenAt <= policy.staleAfter
            && facts.effective < policy.maxLoad && !slots[index].overloaded
    }

    // MARK: - The hot path

    /// Decides where one login goes and books it: the ledger grows by the login
    /// cost, slow-start credit is spent, counters and the log are updated.
    public mutating func route(now: Double) -> RouteTarget {
        endFinishedSlowStarts(now: now)
        let choice = choose(now: now)
        // Log with the figures the decision was taken on, before booking it.
        switch choice {
        case .local:
            localRecord = logged(localRecord, now: now, choice: choice)
            ownExtra += policy.loginCost
            localCount += 1
        case .none:
            noneRecord = logged(noneRecord, now: now, choice: choice)
            noneCount += 1
        case .spare(let index, _):
            slots[index].record = logged(slots[index].record, now: now, choice: choice)
            slots[index].extra += policy.loginCost
            slots[index].redirects += 1
            if policy.mode == .roundRobin { roundRobinCursor = index + 1 }
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

    private enum Choice {
        case local(Reason)
        case none(Reason)
        case spare(Int, Reason)

        var spareIndex: Int? {
            if case .spare(let index, _) = self { return index }
            return nil
        }
    }

    private enum Reason {
        case ownUnknown
        case ownWithinLimit(Double)
        case ownOverNoneLess(Double)
        case ownOverSpare(Double)
        case leastBusy
        case noneEligible
        case nextInTurn
    }

    private func choose(now: Double) -> Choice {
        switch policy.mode {
        case .overflow:
            guard let load = own?.effective else { return .local(.ownUnknown) }
            let ownLoad = load + ownExtra
            if ownLoad <= 100 { return .local(.ownWithinLimit(ownLoad)) }
            guard let index = leastBusy(now: now, below: ownLoad) else { return .local(.ownOverNoneLess(ownLoad)) }
            return .spare(index, .ownOverSpare(ownLoad))
        case .always:
            guard let index = leastBusy(now: now, below: nil) else { return .none(.noneEligible) }
            return .spare(index, .leastBusy)
        case .roundRobin:
            guard let index = nextInTurn(now: now) else { return .none(.noneEligible) }
            return .spare(index, .nextInTurn)
        }
    }

    /// The eligible spare with the lowest predicted load (first in configured
    /// order on ties), preferring spares at full share over held-back ones.
    private func leastBusy(now: Double, below limit: Double?) -> Int? {
        var best = -1, bestLoad = Double.infinity
        var held = -1, heldLoad = Double.infinity
        for index in slots.indices where isEligible(index, now: now) {
            let load = predicted(index)
            if let limit, load >= limit { continue }
            if admitted(index, now: now) {
                if load < bestLoad { best = index; bestLoad = load }
            } else if load < heldLoad {
                held = index; heldLoad = load
            }
        }
        if best >= 0 { return best }
        return held >= 0 ? held : nil
    }

    private func nextInTurn(now: Double) -> Int? {
        let count = slots.count
        guard count > 0 else { return nil }
        var held: Int?
        for step in 0..<count {
            let index = (roundRobinCursor + step) % count
            guard isEligible(index, now: now) else { continue }
            if admitted(index, now: now) { return index }
            if held == nil { held = index }
        }
        return held
    }

    private func predicted(_ index: Int) -> Double {
        let effective = slots[index].fast.effective
        return (effective.isNaN ? 0 : effective) + slots[index].extra
    }

    /// Full share, or enough slow-start credit for this decision.
    private func admitted(_ index: Int, now: Double) -> Bool {
        guard slots[index].joinedAt != nil else { return true }
        return slots[index].credit + share(index, now: now) >= 1
    }

    private func share(_ index: Int, now: Double) -> Double {
        guard let joined = slots[index].joinedAt, policy.slowStart > 0 else { return 1 }
        return min(1, max(0, (now - joined) / policy.slowStart))
    }

    private mutating func endFinishedSlowStarts(now: Double) {
        guard slowStarting > 0 else { return }
        for index in slots.indices where slots[index].joinedAt != nil && share(index, now: now) >= 1 {
            slots[index].joinedAt = nil
            slots[index].credit = 0
            slowStarting -= 1
        }
    }

    private mutating func accrueCredit(now: Double, chosen: Int?) {
        for index in slots.indices where slots[index].joinedAt != nil && isEligible(index, now: now) {
            slots[index].credit = min(2, slots[index].credit + share(index, now: now))
        }
        if let chosen, slots[chosen].joinedAt != nil {
            slots[chosen].credit = max(0, slots[chosen].credit - 1)
        }
    }

    /// Why spare `index` cannot be chosen now, or nil when it can.
    func exclusion(_ index: Int, now: Double) -> Exclusion? {
        let slot = slots[index]
        let observation = slot.observation
        guard observation.linkUp else { return .linkNotUp(state: observation.linkState) }
        if let drain = observation.drain { return .draining(reason: drain.reason) }
        if policy.sameDomain, observation.domain != policy.ownDomain {
            return .otherDomain(domain: observation.domain, own: policy.ownDomain)
        }
        if observation.unansweredPolls > 0 { return .notAnswering(polls: observation.unansweredPolls) }
        guard let reading = observation.reading else { return .noSample }
        let age = now - reading.takenAt
        if age > policy.staleAfter { return .stale(age: age, limit: policy.staleAfter) }
        guard let load = reading.effective else { return .unknownLoad }
        if load >= policy.maxLoad { return .atMaxLoad(load: load, limit: policy.maxLoad) }
        if slot.overloaded { return .awaitingReadmit(load: load, readmit: policy.readmitLoad) }
        return nil
    }

    // MARK: - Explaining and logging

    /// Counts the login in this target's record for the current snapshot, or
    /// starts a new record. The candidates' verdicts are built once per
    /// snapshot and shared by its records (their predicted loads are those of
    /// the snapshot's first logged decision; the chosen spare's is exact), so
    /// a new record costs one reason string, not one verdict per spare.
    private mutating func logged(_ mark: LogMark?, now: Double, choice: Choice) -> LogMark {
        if let mark, mark.generation == generation {
            if log.countAgain(sequence: mark.sequence, at: now) { return mark }
            // Its record has left the ring during this very snapshot: with many spares
            // sharing a burst, record the spread as a count rather than churn the ring.
            log.countUnrecorded()
            return mark
        }
        if recordsThisGeneration.generation != generation { recordsThisGeneration = (generation, 0) }
        guard recordsThisGeneration.count < Self.recordsPerSnapshot else {
            log.countUnrecorded()
            return LogMark(generation: generation, sequence: 0)
        }
        recordsThisGeneration.count += 1
        let verdicts: [CandidateVerdict]
        if let cache = verdictCache, cache.generation == generation {
            verdicts = cache.verdicts
        } else {
            verdicts = self.verdicts(now: now)
            verdictCache = (generation, verdicts)
        }
        let decision = Self.decision(choice, verdicts: verdicts, ownLoad: own?.effective.map { $0 + ownExtra }, chosenPredicted: choice.spareIndex.map(predicted))
        return LogMark(generation: generation, sequence: log.append(decision, at: now))
    }

    private func verdicts(now: Double) -> [CandidateVerdict] {
        slots.indices.map { index in
            let slot = slots[index]
            let effective = slot.observation.reading?.effective
            let exclusion = exclusion(index, now: now)
            return CandidateVerdict(
                id: slot.observation.id, effective: effective,
                predicted: effective.map { $0 + slot.extra }, eligible: exclusion == nil,
                excludedBecause: exclusion?.description, share: share(index, now: now))
        }
    }

    private func explained(now: Double, choice: Choice) -> Decision {
        Self.decision(choice, verdicts: verdicts(now: now), ownLoad: own?.effective.map { $0 + ownExtra }, chosenPredicted: nil)
    }

    private static func decision(_ choice: Choice, verdicts: [CandidateVerdict], ownLoad: Double?, chosenPredicted: Double?) -> Decision {
        let eligibleCount = verdicts.reduce(0) { $0 + ($1.eligible ? 1 : 0) }
        func spareWords(_ index: Int) -> String {
            let verdict = verdicts[index]
            let slowStart = verdict.share < 1 ? ", in slow start at \(Int((verdict.share * 100).rounded())) % share" : ""
            return "\(verdict.id) at \(Percent.text(verdict.effective ?? 0)) (predicted \(Percent.text(chosenPredicted ?? verdict.predicted ?? 0))\(slowStart))"
        }
        let noneWords = verdicts.isEmpty ? "no spares are configured" : "none of the \(verdicts.count) spares is eligible"
        switch choice {
        case .local(.ownUnknown):
            return Decision(target: .local, reason: "this server's own load is unknown: it takes the login", ownLoad: ownLoad, candidates: verdicts)
        case .local(.ownWithinLimit(let load)):
            return Decision(target: .local, reason: "own load \(Percent.text(load)) is at most 100 %: this server takes the login", ownLoad: ownLoad, candidates: verdicts)
        case .local(.ownOverNoneLess(let load)):
            let why = eligibleCount == 0 ? noneWords : "no eligible spare is less loaded"
            return Decision(target: .local, reason: "own load \(Percent.text(load)) is above 100 %, but \(why): this server takes the login", ownLoad: ownLoad, candidates: verdicts)
        case .spare(let index, .ownOverSpare(let load)):
            return Decision(target: .spare(verdicts[index].id), reason: "own load \(Percent.text(load)) is above 100 %: least busy eligible spare is \(spareWords(index))", ownLoad: ownLoad, candidates: verdicts)
        case .spare(let index, .nextInTurn):
            return Decision(target: .spare(verdicts[index].id), reason: "round-robin: \(spareWords(index)) is next in turn among \(eligibleCount) eligible spare\(eligibleCount == 1 ? "" : "s")", ownLoad: ownLoad, candidates: verdicts)
        case .spare(let index, _):
            return Decision(target: .spare(verdicts[index].id), reason: "least busy eligible spare is \(spareWords(index))", ownLoad: ownLoad, candidates: verdicts)
        case .none, .local:
            return Decision(target: .none, reason: "\(noneWords): no target for logins", ownLoad: ownLoad, candidates: verdicts)
        }
    }
}

/// What `BalancerState` keeps of each spare and backup: the slot (what it
/// knows of the server, its ledger, its latch), and the few scalars a
/// decision reads (`FastFacts`, in one array beside the slots), brought up to
/// date whenever what they derive from changes.
extension BalancerState {
    struct SpareSlot: Sendable {
        var observation: SpareObservation
        var lastSequence: UInt64?
        var overloaded = false
        var joinedAt: Double?
        /// Has been available since this state began: becoming available again is coming back.
        var seenAvailable = false
        var redirects = 0
        var record: LogMark?
        /// This slot's record of returning logins for the current snapshot.
        var returningRecord: LogMark?
        /// The logins its samples may not show yet, and the learned costs.
        var ledger = SpareLedger()

        /// Link up, answering polls, not draining: coming back to this starts slow start.
        var available: Bool { observation.linkUp && observation.unansweredPolls == 0 && observation.drain == nil }
    }

    /// What eligibility, room and the predicted load need, as plain values
    /// side by side (refreshed on every update; `booked` and `score` on every login).
    struct FastFacts: Sendable {
        /// Link up, answering, not draining, in the right domain, a numeric sample
        /// below max_load, not awaiting readmission: all but freshness.
        var admissible = false
        var effective = Double.nan  // NaN: no sample or unknown
        /// The sample's time plus `stale_after`: past it the sample does not count.
        var freshUntil = -Double.infinity
        /// Logins the spare could take from its sample (less what the sample
        /// does not show yet of earlier ones) before reaching max_load: room = capacity − booked.
        var capacity = 0.0
        /// Logins booked since the sample.
        var booked = 0.0
        /// Smooth weighted round-robin's running score.
        var score = 0.0
        /// Logins per point of the costlier figure: 1 / max(0.01, loadCost, userCost).
        var loginsPerPoint = 0.0
        /// Predicted load = max(loadBase + loadCost × booked, userBase + userCost × booked).
        var loadBase = 0.0
        var userBase = 0.0
        var loadCost = 0.0
        var userCost = 0.0
        /// Kept as they change (a sample, a login booked, a new water level), so a
        /// decision only reads them: the predicted load, the room (capacity −
        /// booked), and the weight below the water level (`BalancerState+Level`).
        var predicted = Double.nan
        var room = 0.0
        var weight = 0.0

        /// Brings `predicted` and `room` up to date after `booked` or a base changed.
        @inline(__always)
        mutating func settle() {
            predicted = Swift.max(loadBase + loadCost * booked, userBase + userCost * booked)
            room = capacity - booked
        }

        /// The weight below the water level `level`: the deficit in logins (at most the
        /// room), plus a millionth of the room, so that when every deficit is filled the
        /// shares go by room; 0 without room.
        @inline(__always)
        mutating func weigh(below level: Double) {
            weight = room > 0 ? Swift.min(Swift.max(0, level - predicted) * loginsPerPoint, room) + room * 1e-6 : 0
        }
    }

    mutating func refreshFacts(_ index: Int) {
        let observation = slots[index].observation
        let reading = observation.reading
        let effective = reading?.effective ?? .nan
        let ledger = slots[index].ledger
        let (loadCost, userCost) = costs(of: ledger)
        var loadBase = (reading?.load ?? effective) + loadCost * ledger.residual
        if let trend = ledger.trendSettled(timeConstant: policy.loadTimeConstant) { loadBase = max(loadBase, trend) }
        let userBase = reading?.userload ?? effective
        facts[index] = FastFacts(
            admissible: observation.linkUp && observation.unansweredPolls == 0 && observation.drain == nil
                && (!policy.sameDomain || observation.domain == policy.ownDomain)
                && !effective.isNaN && effective < policy.maxLoad && !slots[index].overloaded,
            effective: effective,
            freshUntil: (reading?.takenAt ?? -Double.infinity) + policy.staleAfter,
            capacity: min(Self.capacity(policy.maxLoad - loadBase, cost: loadCost), Self.capacity(policy.maxLoad - userBase, cost: userCost)),
            booked: ledger.sinceSample, score: facts[index].score, loginsPerPoint: 1 / max(0.01, loadCost, userCost),
            loadBase: loadBase, userBase: userBase, loadCost: loadCost, userCost: userCost)
        facts[index].settle()
        facts[index].weigh(below: index < spareCount ? levels.spares : levels.backups)
    }

    /// The cost of a login on each figure: configured, or learned (`learn_login_cost`).
    func costs(of ledger: SpareLedger) -> (load: Double, user: Double) {
        guard policy.learnsLoginCost else { return (policy.loginCost, policy.loginCost) }
        return (ledger.loadFit.cost(prior: policy.loginCost), ledger.userFit.cost(prior: policy.loginCost))
    }

    /// Logins that fit in `headroom` points at `cost` each. A login costs at
    /// least a hundredth of a point here, so room stays finite (and in
    /// proportion to the headroom) when the cost is 0.
    static func capacity(_ headroom: Double, cost: Double) -> Double {
        headroom / Swift.max(cost, 0.01)
    }
}

/// How `BalancerState` takes new information: a whole snapshot, or only what
/// changed since the last one (the poller's updates, O(changed)).
extension BalancerState {
    /// Takes a new snapshot of this server, its spares and its backups.
    ///
    /// A fresh sample (a new `sequence`) resets that server's predicted-load
    /// ledger and updates its hysteresis latch; a spare that becomes available
    /// (link up, answering polls, not draining) starts slow start.
    public mutating func update(_ input: BalancerInput, now: Double) {
        if startedAt == nil { startedAt = now }
        observeOwn(input.own)
        var observations: [String: SpareObservation] = [:]
        for observation in input.spares { observations[observation.id] = observation }
        for index in slots.indices {
            let id = slots[index].observation.id
            observe(observations[id] ?? SpareObservation(id: id, domain: "", linkUp: false, linkState: "unknown", reading: nil), at: index, now: now)
        }
        slowStarting = slots.reduce(0) { $0 + ($1.joinedAt != nil ? 1 : 0) }
        generation &+= 1
    }

    /// Takes what changed since the last update: this server's reading and
    /// the servers in `changed` (ids that are neither spare nor backup are
    /// ignored); every other server keeps what it had. O(changed), so a link
    /// coming up among 10,000 costs one slot, not 10,000. The same rules as
    /// `update(_:now:)`, which a full input still goes through; a change's
    /// superseded readings are folded into the readmit latch in order before
    /// its newest.
    public mutating func update(own: LoadReading?, changed: [SpareChange], now: Double) {
        if startedAt == nil { startedAt = now }
        observeOwn(own)
        for change in changed {
            for index in slotsByID[change.observation.id] ?? [] {
                let wasSlowStarting = slots[index].joinedAt != nil
                observe(change.observation, superseded: change.superseded, at: index, now: now)
                slowStarting += (slots[index].joinedAt != nil ? 1 : 0) - (wasSlowStarting ? 1 : 0)
            }
        }
        generation &+= 1
    }

    mutating func observeOwn(_ reading: LoadReading?) {
        if let reading, reading.sequence != ownSequence {
            ownSequence = reading.sequence
            ownLedger.sample(
                load: reading.load, userload: reading.userload, at: reading.takenAt, timeConstant: policy.loadTimeConstant,
                learn: policy.learnsLoginCost)
        }
        own = reading
    }

    /// Takes one spare's observation. A new reading (a new `sequence`) resets
    /// its ledger; the readmit latch folds the `superseded` readings, oldest
    /// first, then the newest. Folding again a reading already folded (a
    /// whole snapshot may have brought the newest first) changes nothing:
    /// the latch follows the last decisive reading of the sequence.
    mutating func observe(_ observation: SpareObservation, superseded: [LoadReading] = [], at index: Int, now: Double) {
        let wasAvailable = slots[index].available
        slots[index].observation = observation
        if wasAvailable, !slots[index].available { facts[index].score = 0 }
        if !wasAvailable, slots[index].available {
            // Coming back starts slow start; joining with this balancer's own start
            // does not (as HAProxy's `slowstart`): every spare would be held back at once.
            let comingBack = slots[index].seenAvailable || now - (startedAt ?? now) > policy.staleAfter
            if slots[index].seenAvailable { slots[index].ledger.interrupt(until: now + 3 * policy.loadTimeConstant) }
            slots[index].seenAvailable = true
            if comingBack, policy.slowStart > 0 {
                slots[index].joinedAt = now
                facts[index].score = 0
            }
        }
        let newest = observation.reading
        let isNew = newest.map { $0.sequence != slots[index].lastSequence } ?? false
        if isNew, let newest {
            // The ledger takes every sample it has not taken, oldest first (its trend and its cost fits count each).
            for reading in superseded + [newest] where reading.sequence > slots[index].lastSequence ?? 0 || reading == newest {
                slots[index].ledger.sample(
                    load: reading.load, userload: reading.userload, at: reading.takenAt, timeConstant: policy.loadTimeConstant,
                    learn: policy.learnsLoginCost)
            }
            slots[index].lastSequence = newest.sequence
        }
        if isNew || !superseded.isEmpty {
            for reading in superseded { latch(on: reading, at: index) }
            if let newest { latch(on: newest, at: index) }
        }
        refreshFacts(index)
    }

    /// The hysteresis: a reading at or above `max_load` excludes the spare
    /// until one below `readmit_load`; one in between, or unknown, changes nothing.
    private mutating func latch(on reading: LoadReading, at index: Int) {
        guard let load = reading.effective else { return }
        if load >= policy.maxLoad {
            slots[index].overloaded = true
        } else if load < policy.readmitLoad {
            slots[index].overloaded = false
        }
    }
}

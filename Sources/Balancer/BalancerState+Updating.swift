/// How `BalancerState` takes new information: a whole snapshot, or only what
/// changed since the last one (the poller's updates, O(changed)).
extension BalancerState {
    /// Takes a new snapshot of this server, its spares and its backups.
    ///
    /// A fresh sample (a new `sequence`) resets that server's predicted-load
    /// ledger and updates its hysteresis latch; a spare that becomes available
    /// (link up, answering polls, not draining) starts slow start.
    public mutating func update(_ input: BalancerInput, now: Double) {
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
    /// `update(_:now:)`, which a full input still goes through.
    public mutating func update(own: LoadReading?, changed: [SpareObservation], now: Double) {
        observeOwn(own)
        for observation in changed {
            for index in slotsByID[observation.id] ?? [] {
                let wasSlowStarting = slots[index].joinedAt != nil
                observe(observation, at: index, now: now)
                slowStarting += (slots[index].joinedAt != nil ? 1 : 0) - (wasSlowStarting ? 1 : 0)
            }
        }
        generation &+= 1
    }

    mutating func observeOwn(_ reading: LoadReading?) {
        if let reading, reading.sequence != ownSequence {
            ownSequence = reading.sequence
            ownExtra = 0
        }
        own = reading
    }

    mutating func observe(_ observation: SpareObservation, at index: Int, now: Double) {
        let wasAvailable = slots[index].available
        slots[index].observation = observation
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
        refreshFacts(index)
    }
}

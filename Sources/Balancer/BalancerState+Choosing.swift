/// How `BalancerState` picks among eligible spares and backups: shares in
/// proportion to room, round-robin, and a returning user's server.
extension BalancerState {
    /// A tier's candidates: the one to take a login while any has room, and
    /// the one to take it when none has (`full`).
    struct Pick {
        var room: Int?
        var full: Int?

        init(room: Int? = nil, full: Int? = nil) {
            self.room = room
            self.full = full
        }
    }

    /// Smooth weighted round-robin over the eligible slots in `range` that
    /// have room: every candidate's score grows by its weight, the highest
    /// score takes the login and gives back the sum of the weights (nginx's
    /// rule; equal weights take turns). The weight is the candidate's deficit
    /// below the water level, in logins (`updateWaterLevels`), plus a millionth of
    /// its room, so that when the logins booked since the level was set have
    /// filled every deficit the shares go by room alone; × its slow-start
    /// share. One pass. `below`: only slots predicted below this load
    /// (overflow: less loaded than this server).
    mutating func share(in range: Range<Int>, now: Double, below limit: Double?) -> Pick {
        guard !range.isEmpty else { return Pick() }
        updateWaterLevels(now: now)
        // Found without room earlier in this generation: booking only takes room away.
        if fullRanges.generation == generation, fullRanges.ranges.contains(range), limit == nil {
            return Pick(full: shareBySample(in: range, now: now, below: nil))
        }
        let slowStart = policy.slowStart
        // Slow-start shares read from a copy of the slots (O(1): shared storage), not self, while `facts` is written.
        let joining = slowStarting > 0 ? slots : []
        var total = 0.0
        var best = -1, bestScore = -Double.infinity
        var held = -1, heldRoom = -Double.infinity
        var anyFull = false
        // The hot path: one pass over plain values in memory order, no copies, no retains.
        facts.withUnsafeMutableBufferPointer { facts in
            for index in range {
                let fact = facts[index]
                guard fact.admissible, now <= fact.freshUntil else { continue }
                if let limit, fact.predicted >= limit { continue }
                let room = fact.room
                guard room > 0 else {
                    anyFull = true
                    continue
                }
                var weight = fact.weight
                if !joining.isEmpty { weight *= Self.share(joinedAt: joining[index].joinedAt, now: now, slowStart: slowStart) }
                guard weight > 0 else {
                    if room > heldRoom { held = index; heldRoom = room }
                    continue
                }
                let score = fact.score + weight
                facts[index].score = score
                total += weight
                if score > bestScore { best = index; bestScore = score }
            }
        }
        if best >= 0 {
            facts[best].score -= total
            return Pick(room: best)
        }
        if held >= 0 { return Pick(room: held) }
        guard anyFull else { return Pick() }
        if limit == nil {
            if fullRanges.generation != generation { fullRanges = (generation, []) }
            fullRanges.ranges.append(range)
        }
        return Pick(full: shareBySample(in: range, now: now, below: limit))
    }

    /// When no candidate has room by its prediction, though each one's sample
    /// is below `max_load`: the costs booked are more than the samples bear
    /// out so far (a burst faster than any sample, or `login_cost` set too
    /// high). Whatever a login really costs, shares in proportion to each
    /// sample's headroom fill every spare to the same fraction of it, so none
    /// passes `max_load` before the cluster as a whole is full.
    private mutating func shareBySample(in range: Range<Int>, now: Double, below limit: Double?) -> Int? {
        var total = 0.0
        var best = -1, bestScore = -Double.infinity
        for index in range where isEligible(index, now: now) {
            let fact = facts[index]
            if let limit, fact.predicted >= limit { continue }
            let weight = policy.maxLoad - fact.effective
            let score = fact.score + weight
            facts[index].score = score
            total += weight
            if score > bestScore { best = index; bestScore = score }
        }
        guard best >= 0 else { return nil }
        facts[best].score -= total
        return best
    }

    /// The slot a returning user's cookie names, if it may take this login:
    /// eligible, with room, and a backup only while the policy itself would use one.
    func returningIndex(_ id: String, now: Double, instead choice: Choice) -> Int? {
        guard let index = slotsByID[id]?.first, isEligible(index, now: now),
            facts[index].capacity > facts[index].booked
        else { return nil }
        if index < spareCount { return index }
        guard case .spare(let chosen, _) = choice, chosen >= spareCount else { return nil }
        return index
    }

    /// Round-robin: the next eligible spare with room in turn, else the least
    /// loaded by its sample of those without room. A spare in slow start takes its turn
    /// only a fraction `share` of the times it comes (its score is the credit);
    /// one held back takes the login only when no other can.
    mutating func nextInTurn(now: Double) -> Pick {
        let count = spareCount
        guard count > 0 else { return Pick() }
        var held: Int?
        var full: Int?
        for step in 0..<count {
            let index = (roundRobinCursor + step) % count
            guard isEligible(index, now: now) else { continue }
            let fact = facts[index]
            if fact.capacity <= fact.booked {
                if full.map({ fact.effective < facts[$0].effective }) ?? true { full = index }
                continue
            }
            if slots[index].joinedAt == nil { return Pick(room: index, full: full) }
            facts[index].score += share(index, now: now)
            if facts[index].score >= 1 {
                facts[index].score -= 1
                return Pick(room: index, full: full)
            }
            if held == nil { held = index }
        }
        return Pick(room: held, full: full)
    }
}

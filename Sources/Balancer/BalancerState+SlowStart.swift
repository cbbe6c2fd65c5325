/// Slow start (see `BalancerState`): a spare that (re)joins takes a share
/// growing from 0 to 1 over `slowStart`, spent as credit one login at a time.
extension BalancerState {
    /// Full share, or enough slow-start credit for this decision.
    func admitted(_ index: Int, now: Double) -> Bool {
        guard slots[index].joinedAt != nil else { return true }
        return slots[index].credit + share(index, now: now) >= 1
    }

    func share(_ index: Int, now: Double) -> Double {
        guard let joined = slots[index].joinedAt, policy.slowStart > 0 else { return 1 }
        return min(1, max(0, (now - joined) / policy.slowStart))
    }

    mutating func endFinishedSlowStarts(now: Double) {
        guard slowStarting > 0 else { return }
        for index in slots.indices where slots[index].joinedAt != nil && share(index, now: now) >= 1 {
            slots[index].joinedAt = nil
            slots[index].credit = 0
            slowStarting -= 1
        }
    }

    mutating func accrueCredit(now: Double, chosen: Int?) {
        for index in slots.indices where slots[index].joinedAt != nil && isEligible(index, now: now) {
            slots[index].credit = min(2, slots[index].credit + share(index, now: now))
        }
        if let chosen, slots[chosen].joinedAt != nil {
            slots[chosen].credit = max(0, slots[chosen].credit - 1)
        }
    }
}

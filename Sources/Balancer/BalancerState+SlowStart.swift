/// Slow start (see `BalancerState`): a spare that comes back takes a share
/// growing from 0 to 1 over `slowStart`, which scales its weight.
extension BalancerState {
    func share(_ index: Int, now: Double) -> Double {
        guard let joined = slots[index].joinedAt, policy.slowStart > 0 else { return 1 }
        return min(1, max(0, (now - joined) / policy.slowStart))
    }

    mutating func endFinishedSlowStarts(now: Double) {
        guard slowStarting > 0 else { return }
        for index in slots.indices where slots[index].joinedAt != nil && share(index, now: now) >= 1 {
            slots[index].joinedAt = nil
            slowStarting -= 1
        }
    }
}

/// Slow start (see `BalancerState`): a spare that comes back takes a share
/// growing from 0 to 1 over `slowStart`, which scales its weight.
extension BalancerState {
    func share(_ index: Int, now: Double) -> Double {
        Self.share(joinedAt: slots[index].joinedAt, now: now, slowStart: policy.slowStart)
    }

    /// `(now − joined) / slowStart`, between 0 and 1; 1 when not slow-starting.
    static func share(joinedAt joined: Double?, now: Double, slowStart: Double) -> Double {
        guard let joined, slowStart > 0 else { return 1 }
        return min(1, max(0, (now - joined) / slowStart))
    }

    mutating func endFinishedSlowStarts(now: Double) {
        guard slowStarting > 0 else { return }
        for index in slots.indices where slots[index].joinedAt != nil && share(index, now: now) >= 1 {
            slots[index].joinedAt = nil
            slowStarting -= 1
        }
    }
}

/// When each peer is first polled after a start, spread over one interval so a
/// restart does not send every poll at once (the check storm HAProxy users know).
public enum PollSchedule {
    /// Offsets in seconds, one per peer in order, in `[0, interval)`: evenly
    /// spaced slots, each moved by up to ±`jitter` of a slot at random, in an
    /// order shuffled by `generator` so neighbours in the table don't line up.
    public static func firstOffsets<G: RandomNumberGenerator>(
        count: Int, interval: Double, jitter: Double = 0.5, using generator: inout G
    ) -> [Double] {
        guard count > 0, interval > 0 else { return Array(repeating: 0, count: max(0, count)) }
        let slot = interval / Double(count)
        var order = Array(0..<count)
        order.shuffle(using: &generator)
        let spread = min(max(jitter, 0), 1) * slot / 2
        return order.map { position in
            let center = (Double(position) + 0.5) * slot
            let offset = spread > 0 ? center + Double.random(in: -spread...spread, using: &generator) : center
            return min(max(offset, 0), interval.nextDown)
        }
    }
}

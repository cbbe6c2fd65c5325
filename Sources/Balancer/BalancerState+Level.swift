#if canImport(Glibc)
import Glibc  // exp
#elseif canImport(Darwin)
import Darwin
#endif

/// The water level (see `BalancerState`, "Sharing"): how high the logins
/// expected before the load figures can show them would fill the spares if
/// each went to the least loaded. Spares below the level share the logins in
/// proportion to how far below they are; spares above it wait.
///
///     load %   100 ┤ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ max_load
///                  │        ▓▓    ▓▓
///            level ┤ ·▒▒·▒▒·▓▓·▒▒·▓▓·   ▒ deficit: its share of the next logins
///                  │  ▓▓ ▓▓ ▓▓ ▓▓ ▓▓    ▓ predicted load
///
/// Expected logins = the logins this balancer expects to send within the lag
/// of its signal (`load_time_constant`, at least `stale_after`;
/// `DemandRate`), and at least one:
/// in a quiet hour that is a handful, the level sits just above the least
/// loaded spare and it takes them, as lonnet's rule would; in a storm it is hundreds, the
/// level reaches `max_load`, and every spare takes logins in proportion to
/// its room. Shares in proportion to a deficit add up across balancers: N
/// balancers each sending their logins this way fill the spares to one
/// level, not N times the least loaded one.
extension BalancerState {
    /// The levels of the spares and of the backups for this generation of
    /// samples, and every slot's weight below its level; computed again at
    /// least every half second (samples go stale, demand fades): O(n log n)
    /// then, not per login (a login booked weighs its own slot again).
    mutating func updateWaterLevels(now: Double) {
        if levelsGeneration != generation || !(now - levelsAt < 0.5) {
            levelsAt = now
            let lag = max(policy.loadTimeConstant, policy.staleAfter)
            demand.update(now: now, lag: lag)
            // At least the login being decided: with none expected the level sits at the least loaded.
            let expected = max(1, demand.expected(within: lag))
            levels = (level(in: 0..<spareCount, now: now, logins: expected), level(in: spareCount..<slots.count, now: now, logins: expected))
            levelsGeneration = generation
            fullRanges = (generation, [])
            for index in facts.indices { facts[index].weigh(below: index < spareCount ? levels.spares : levels.backups) }
        }
    }

    /// The load h at which Σ (h − predictedᵢ)⁺ / costᵢ = `logins` over the
    /// eligible slots of `range`, at most `max_load`.
    private func level(in range: Range<Int>, now: Double, logins: Double) -> Double {
        var candidates: [(load: Double, loginsPerPoint: Double)] = []
        for index in range where isEligible(index, now: now) {
            let facts = facts[index]
            candidates.append((facts.predicted, 1 / Swift.max(0.01, facts.loadCost, facts.userCost)))
        }
        guard !candidates.isEmpty else { return policy.maxLoad }
        candidates.sort { $0.load < $1.load }
        // Raise the water from one candidate's load to the next, each step
        // filling every candidate already under it.
        var remaining = logins, perPoint = 0.0
        for (position, candidate) in candidates.enumerated() {
            perPoint += candidate.loginsPerPoint
            let next = position + 1 < candidates.count ? Swift.min(candidates[position + 1].load, policy.maxLoad) : policy.maxLoad
            let step = Swift.max(0, next - candidate.load)
            if step * perPoint >= remaining { return candidate.load + remaining / perPoint }
            remaining -= step * perPoint
            if next >= policy.maxLoad { return policy.maxLoad }
        }
        return policy.maxLoad
    }
}

/// How many logins this balancer will send within the signal's lag, judged
/// from what it sent lately: as many as it sent over the last lag, or, when
/// a storm starts, what the last 10 s bring at that pace (less one login, so
/// that one login after a quiet spell is not taken for the start of a storm).
/// Exponential averages, brought up to date once per generation of samples,
/// so the hot path only counts.
struct DemandRate: Sendable {
    static let onset = 10.0
    /// Logins sent within about the last lag, and the last `onset` seconds.
    private(set) var overLag = 0.0
    private(set) var lately = 0.0
    private var since = 0.0
    private var at: Double?

    mutating func book() { since += 1 }

    mutating func update(now: Double, lag: Double) {
        let elapsed = at.map { Swift.max(0, now - $0) } ?? 0
        overLag = overLag * exp(-elapsed / Swift.max(lag, 1)) + since
        lately = lately * exp(-elapsed / Self.onset) + since
        since = 0
        at = now
    }

    func expected(within lag: Double) -> Double {
        Swift.max(overLag, Swift.max(0, lately - 1) * lag / Self.onset)
    }
}

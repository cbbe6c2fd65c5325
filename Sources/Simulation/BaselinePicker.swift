import Balancer
import Lonc

/// The rules balancerd is measured against (docs/BALANCING.md). Each sees the
/// same poll answers as balancerd's policy and applies the same eligibility
/// (link up, last poll answered, sample fresh and below `max_load`, not
/// draining); in mode `overflow` each keeps a login on its own server while
/// that is at most 100 % and otherwise looks only at spares less loaded.
public enum Baseline: String, Sendable, CaseIterable {
    /// Eligible spares in turn.
    case roundRobin = "round-robin"
    /// An eligible spare at random.
    case random
    /// The lowest sample (lonnet's `spareserver`), no ledger.
    case leastLoaded = "least-loaded"
    /// Two eligible spares at random, the lower sample of the two (Mitzenmacher).
    case powerOfTwo = "power-of-two"
    /// HAProxy's `roundrobin` with the weights `balancerd agent` gives its `agent-check`.
    case haproxyAgent = "haproxy-agent"
    /// The lowest true settled load: what no balancer can know, the bound to compare with.
    case oracle
}

struct BaselinePicker: LoginPicker {
    let rule: Baseline
    let policy: BalancerPolicy
    var observations: [SpareObservation]
    var slotOf: [String: Int] = [:]
    var own: LoadReading?
    var generator: SplitMix64
    var cursor = 0
    /// Smooth weighted round-robin's running scores (HAProxy's and nginx's rule).
    var scores: [Double]

    init(rule: Baseline, policy: BalancerPolicy, seed: UInt64) {
        self.rule = rule
        self.policy = policy
        let ids = policy.spares + policy.backups
        observations = ids.map { SpareObservation(id: $0, domain: policy.ownDomain, linkUp: false, reading: nil) }
        for (slot, id) in ids.enumerated() { slotOf[id] = slot }
        generator = SplitMix64(seed: seed)
        scores = Array(repeating: 0, count: ids.count)
    }

    mutating func observe(_ change: SpareChange, now: Double) {
        if let slot = slotOf[change.observation.id] { observations[slot] = change.observation }
    }

    mutating func observeOwn(_ reading: LoadReading?, now: Double) { own = reading }

    mutating func route(now: Double, truth: Truth) -> RouteTarget {
        var below: Double?
        if policy.mode == .overflow {
            guard let ownLoad = rule == .oracle ? truth.own : own?.effective else { return .local }
            if ownLoad <= 100 { return .local }
            below = ownLoad
        }
        let spares = 0..<policy.spares.count, backups = policy.spares.count..<observations.count
        for tier in [spares, backups] {
            let candidates = tier.filter { eligible($0, now: now, truth: truth, below: below) }
            if let slot = pick(among: candidates, truth: truth) { return .spare(observations[slot].id) }
        }
        return policy.mode == .overflow ? .local : .none
    }

    private func eligible(_ slot: Int, now: Double, truth: Truth, below limit: Double?) -> Bool {
        let load: Double?
        if rule == .oracle {
            load = truth.available[slot] ? truth.settled[slot] : nil
        } else {
            let observation = observations[slot]
            guard observation.linkUp, observation.unansweredPolls == 0, observation.drain == nil,
                let reading = observation.reading, now - reading.takenAt <= policy.staleAfter
            else { return false }
            load = reading.effective
        }
        guard let load, load < policy.maxLoad else { return false }
        return limit.map { load < $0 } ?? true
    }

    private func load(_ slot: Int, truth: Truth) -> Double {
        (rule == .oracle ? truth.settled[slot] : observations[slot].reading?.effective) ?? .infinity
    }

    private mutating func pick(among candidates: [Int], truth: Truth) -> Int? {
        guard !candidates.isEmpty else { return nil }
        switch rule {
        case .roundRobin:
            let next = candidates.first { $0 >= cursor } ?? candidates[0]
            cursor = next + 1
            return next
        case .random:
            return candidates[Int(generator.next() % UInt64(candidates.count))]
        case .leastLoaded, .oracle:
            return candidates.min { load($0, truth: truth) < load($1, truth: truth) }
        case .powerOfTwo:
            let first = candidates[Int(generator.next() % UInt64(candidates.count))]
            guard candidates.count > 1 else { return first }
            var second = candidates[Int(generator.next() % UInt64(candidates.count - 1))]
            if second == first { second = candidates[candidates.count - 1] }
            return load(second, truth: truth) < load(first, truth: truth) ? second : first
        case .haproxyAgent:
            var total = 0.0, best: Int?
            for slot in candidates {
                let reading = observations[slot].reading
                let answer = HAProxyAgentAnswer(loadPercent: reading?.load, userLoadPercent: reading?.userload, drained: false, maxLoad: policy.maxLoad)
                guard let weight = answer.weightPercent else { continue }
                scores[slot] += Double(weight)
                total += Double(weight)
                if best.map({ scores[slot] > scores[$0] }) ?? true { best = slot }
            }
            if let best { scores[best] -= total }
            return best
        }
    }
}

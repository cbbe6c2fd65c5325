/// Whether balancerd's policy held in a scenario (docs/BALANCING.md, "The
/// bar"): where the cluster can absorb the logins (the oracle keeps every
/// spare at or below `max_load`), no spare's settled load passes `max_load`,
/// no login is refused or kept on an overloaded server while a spare has
/// room, and its peak and its seconds over `max_load` are no worse than the
/// best baseline's. The oracle is the bound, not a baseline; a baseline that
/// refused a login or kept one on an overloaded server while a spare had room
/// does not count (refusing, or overloading the balancer's own server, is no
/// way to keep the spares lower).
public struct SimulationVerdict: Sendable, Equatable {
    /// What fell short, in words; empty: the policy held.
    public var shortfalls: [String]
    /// False when even the oracle passes `max_load`: the cluster cannot absorb the logins, and only the comparisons count.
    public var absorbable: Bool

    public var held: Bool { shortfalls.isEmpty }

    /// Judges `ours` against the other runs of the same scenario.
    public init(_ scenario: Scenario, ours: RunFigures, others: [RunFigures]) {
        let maxLoad = scenario.policy.maxLoad
        let oracle = others.first { $0.contender == Baseline.oracle.rawValue }
        let baselines = others.filter {
            $0.contender != Baseline.oracle.rawValue && Baseline(rawValue: $0.contender) != nil && $0.refusedWithRoom == 0 && $0.keptOverloaded == 0
        }
        absorbable = oracle.map { $0.peak <= maxLoad + Self.slack } ?? true
        var shortfalls: [String] = []
        if absorbable {
            if ours.peak > maxLoad + Self.slack { shortfalls.append("peak \(SimulationReport.format(ours.peak)) % passes max_load \(SimulationReport.format(maxLoad)) % (\(ours.peakServer))") }
            if ours.refusedWithRoom > 0 { shortfalls.append("\(ours.refusedWithRoom) logins refused (503) while a spare had room") }
            if ours.keptOverloaded > 0 { shortfalls.append("\(ours.keptOverloaded) logins kept on an overloaded server while a spare had room") }
        }
        if let best = baselines.min(by: { $0.peak < $1.peak }), ours.peak > best.peak + Self.slack {
            shortfalls.append("peak \(SimulationReport.format(ours.peak)) % is above \(best.contender)'s \(SimulationReport.format(best.peak)) %")
        }
        if let best = baselines.min(by: { $0.secondsOver < $1.secondsOver }), ours.secondsOver > best.secondsOver + Self.slack {
            shortfalls.append("\(SimulationReport.format(ours.secondsOver)) s over max_load, \(best.contender) \(SimulationReport.format(best.secondsOver)) s")
        }
        self.shortfalls = shortfalls
    }

    /// Below the tables' own precision (one decimal).
    static let slack = 0.05
}

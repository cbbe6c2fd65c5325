import Testing
@testable import Balancer

/// The poller coalesces its updates, so one update can bring a spare's
/// readings that a newer one replaced within it. The readmit latch folds
/// them in order, as if each had come in an update of its own.
@Suite("readings superseded within one update")
struct SupersededReadingTests {
    static let policy = BalancerPolicy(mode: .always, spares: ["a"], ownDomain: "msu", slowStart: 0)

    static func change(_ newest: (load: Double?, sequence: UInt64), superseded: [(load: Double?, sequence: UInt64)] = [], now: Double = 10) -> SpareChange {
        SpareChange(
            SpareObservation(
                id: "a", domain: "msu", linkUp: true, linkState: "up",
                reading: LoadReading(effective: newest.load, takenAt: now, sequence: newest.sequence)),
            superseded: superseded.map { LoadReading(effective: $0.load, takenAt: now, sequence: $0.sequence) })
    }

    @Test("a spike to max_load replaced by 90 % within one update excludes the spare until it is below readmit_load")
    func spikeLatches() {
        var state = BalancerState(policy: Self.policy)
        state.update(own: nil, changed: [Self.change((90, 2), superseded: [(100, 1)])], now: 10)
        #expect(state.explain(now: 10).target == RouteTarget.none, "the 100 % was folded before the 90 %")
        #expect(state.explain(now: 10).candidates[0].excludedBecause == "load 90.0 % has not come back below readmit_load 85.0 % since it reached max_load")
        state.update(own: nil, changed: [Self.change((86, 3))], now: 11)
        #expect(state.explain(now: 11).target == RouteTarget.none)
        state.update(own: nil, changed: [Self.change((84, 4))], now: 12)
        #expect(state.explain(now: 12).target == .spare("a"))
    }

    @Test("superseded readings are folded oldest first: 100 % then 40 % readmits, 40 % then 100 % excludes")
    func order() {
        var readmitted = BalancerState(policy: Self.policy)
        readmitted.update(own: nil, changed: [Self.change((90, 3), superseded: [(100, 1), (40, 2)])], now: 10)
        #expect(readmitted.explain(now: 10).target == .spare("a"))
        var excluded = BalancerState(policy: Self.policy)
        excluded.update(own: nil, changed: [Self.change((90, 3), superseded: [(40, 1), (100, 2)])], now: 10)
        #expect(excluded.explain(now: 10).target == RouteTarget.none)
    }

    @Test("an unknown superseded reading changes nothing; neither does one between readmit_load and max_load")
    func undecisive() {
        var state = BalancerState(policy: Self.policy)
        state.update(own: nil, changed: [Self.change((50, 3), superseded: [(nil, 1), (95, 2)])], now: 10)
        #expect(state.explain(now: 10).target == .spare("a"))
    }

    @Test("a whole snapshot that brought the newest first: the change folds the spike and the newest again, and keeps the ledger")
    func snapshotFirst() {
        var state = BalancerState(policy: Self.policy)
        state.update(BalancerInput(own: nil, spares: [Self.change((90, 2)).observation]), now: 10)
        #expect(state.explain(now: 10).target == .spare("a"), "the snapshot alone never saw the spike")
        #expect(state.route(now: 10) == .spare("a"))
        state.update(own: nil, changed: [Self.change((90, 2), superseded: [(100, 1)])], now: 10)
        let verdict = state.explain(now: 10).candidates[0]
        #expect(!verdict.eligible)
        #expect(verdict.predicted == 90 + Self.policy.loginCost, "the newest is not new: the login booked on it stays")
    }

    /// Random readings for a few spares, fed to one state one update per
    /// reading and to another in random batches (superseded + newest): after
    /// each batch both explain the same decision.
    @Test("folding a batch gives the state one update per reading gives", arguments: [UInt64(1), 2, 3])
    func batchesEqualSingles(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let ids = ["a", "b", "c"]
        let policy = BalancerPolicy(mode: .always, spares: ids, ownDomain: "msu", maxLoad: 80, readmitLoad: 60, slowStart: 0)
        var singles = BalancerState(policy: policy)
        var batched = BalancerState(policy: policy)
        var sequence: UInt64 = 0
        for step in 0..<300 {
            let now = Double(step)
            var changes: [SpareChange] = []
            for id in ids where Double.random(in: 0...1, using: &generator) < 0.6 {
                var readings: [LoadReading] = []
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    sequence += 1
                    let load = Double.random(in: 0...1, using: &generator) < 0.9 ? Double.random(in: 30...110, using: &generator).rounded() : nil
                    readings.append(LoadReading(effective: load, takenAt: now, sequence: sequence))
                }
                let observations = readings.map { SpareObservation(id: id, domain: "msu", linkUp: true, linkState: "up", reading: $0) }
                for observation in observations { singles.update(own: nil, changed: [SpareChange(observation)], now: now) }
                changes.append(SpareChange(observations[observations.count - 1], superseded: Array(readings.dropLast())))
            }
            batched.update(own: nil, changed: changes, now: now)
            #expect(batched.explain(now: now) == singles.explain(now: now), "step \(step)")
            #expect(batched.route(now: now) == singles.route(now: now), "step \(step)")
        }
    }
}

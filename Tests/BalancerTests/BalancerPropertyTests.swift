import Testing
@testable import Balancer

/// The policy's own seeded generator, so every property run is reproducible.
typealias SeededGenerator = SplitMix64

@Suite("properties over random snapshots")
struct BalancerPropertyTests {
    static func randomScene(mode: BalancerMode, generator: inout SeededGenerator) -> Scene {
        let count = Int.random(in: 1...12, using: &generator)
        let ids = (0..<count).map { "s\($0)" }
        var scene = Scene(mode: mode, spares: ids)
        let spares = ids.map { id in
            Scene.Spare(
                id: id,
                load: Double.random(in: 0...1, using: &generator) < 0.9 ? Double.random(in: 0...130, using: &generator).rounded() : nil,
                linkUp: Double.random(in: 0...1, using: &generator) < 0.85,
                age: Double.random(in: 0...8, using: &generator),
                domain: Double.random(in: 0...1, using: &generator) < 0.9 ? "msu" : "hub",
                drain: Double.random(in: 0...1, using: &generator) < 0.1 ? "maintenance" : nil,
                sampled: Double.random(in: 0...1, using: &generator) < 0.95,
                unanswered: Double.random(in: 0...1, using: &generator) < 0.1 ? 1 : 0)
        }
        scene.observe(own: Double.random(in: 0...200, using: &generator), spares)
        return scene
    }

    @Test("never an ineligible spare; a first login goes to the least busy; none refused while one is eligible", arguments: [BalancerMode.overflow, .always, .roundRobin])
    func neverIneligible(mode: BalancerMode) {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<2_000 {
            var scene = Self.randomScene(mode: mode, generator: &generator)
            for login in 0..<5 {
                let decision = scene.explain()
                let target = scene.route()
                #expect(target == decision.target)
                guard case .spare(let id) = target else {
                    if mode == .always || mode == .roundRobin {
                        #expect(target == .none)
                        #expect(decision.candidates.allSatisfy { !$0.eligible })
                    }
                    continue
                }
                let chosen = decision.candidates.first { $0.id == id }
                #expect(chosen?.eligible == true)
                if mode != .roundRobin, login == 0, chosen?.backup == false {
                    // No logins expected beyond this one: the water level sits at the least busy spare.
                    let minimum = decision.candidates.filter { $0.eligible && !$0.backup }.compactMap(\.predicted).min()
                    #expect(chosen?.predicted == minimum)
                }
                if mode == .overflow, let own = decision.ownLoad {
                    #expect(own > 100)
                    #expect((chosen?.predicted ?? .infinity) < own)
                }
            }
        }
    }

    @Test("no login goes to a spare predicted at max_load while another eligible one is below it", arguments: [BalancerMode.overflow, .always, .roundRobin])
    func predictedLoadBounded(mode: BalancerMode) {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<1_000 {
            var scene = Self.randomScene(mode: mode, generator: &generator)
            var policy = scene.state.policy
            policy.loginCost = Double.random(in: 0...20, using: &generator).rounded()
            scene.state.reconfigure(policy)
            for _ in 0..<Int.random(in: 1...60, using: &generator) {
                let before = scene.explain()
                guard case .spare(let id) = scene.route() else { continue }
                let chosen = before.candidates.first { $0.id == id }
                let roomElsewhere = before.candidates.contains { $0.eligible && ($0.predicted ?? .infinity) < policy.maxLoad }
                if roomElsewhere {
                    #expect((chosen?.predicted ?? .infinity) < policy.maxLoad, "\(id) chosen at predicted \(chosen?.predicted ?? .nan)")
                }
            }
        }
    }

    @Test("round-robin visits every eligible spare equally, within one, per cycle")
    func roundRobinFair() {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<500 {
            var scene = Self.randomScene(mode: .roundRobin, generator: &generator)
            // Logins cost nothing here, so none reaches max_load by predicted load (that has its own property).
            var policy = scene.state.policy
            policy.loginCost = 0
            scene.state.reconfigure(policy)
            let eligible = scene.explain().candidates.filter(\.eligible).map(\.id)
            guard !eligible.isEmpty else { continue }
            let rounds = Int.random(in: 1...5, using: &generator)
            var counts: [String: Int] = [:]
            for _ in 0..<(eligible.count * rounds + Int.random(in: 0..<eligible.count, using: &generator)) {
                if case .spare(let id) = scene.route() { counts[id, default: 0] += 1 }
            }
            let values = eligible.map { counts[$0, default: 0] }
            #expect((values.max() ?? 0) - (values.min() ?? 0) <= 1, "\(counts) for \(eligible)")
            #expect(Set(counts.keys).isSubset(of: Set(eligible)))
        }
    }
}

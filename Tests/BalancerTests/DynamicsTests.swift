import Foundation
import Testing
@testable import Balancer

@Suite("predicted load, shares, hysteresis, slow start")
struct DynamicsTests {
    @Test("a quiet balancer sends each login to the least busy, and a tie takes turns")
    func quiet() {
        var scene = Scene(mode: .always)
        var targets: [RouteTarget] = []
        for _ in 0..<5 {
            scene.now += 30  // one login every 30 s: no storm in sight
            scene.observe(own: 0, [.init(id: "a", load: 40, age: 0), .init(id: "b", load: 25, age: 0), .init(id: "c", load: 30, age: 0)])
            targets.append(scene.route())
        }
        #expect(targets == Array(repeating: .spare("b"), count: 5))
        var tie = Scene(mode: .always) { $0.loginCost = 0 }
        tie.observe(own: 0, [.init(id: "a", load: 20), .init(id: "b", load: 20), .init(id: "c", load: 20)])
        var counts: [RouteTarget: Int] = [:]
        for _ in 0..<6 { counts[tie.route(), default: 0] += 1 }
        #expect(counts == [.spare("a"): 2, .spare("b"): 2, .spare("c"): 2])
    }

    @Test("a storm between samples is shared in proportion to room, and nobody is refused while a sample has room")
    func storm() {
        var scene = Scene(mode: .always)
        scene.observe(own: 0, [.init(id: "a", load: 20), .init(id: "b", load: 50), .init(id: "c", load: 80)])
        var counts: [RouteTarget: Int] = [:]
        for _ in 0..<300 { counts[scene.route(), default: 0] += 1 }
        // Room at 0.5 points a login: 160, 100 and 40 logins; 300 of 300 fill them alike.
        #expect(counts == [.spare("a"): 160, .spare("b"): 100, .spare("c"): 40])
        // The ledger says every spare is full; the samples still say 20, 50 and 80 %: logins go
        // on, in proportion to each sample's headroom (80 : 50 : 20), and none is refused.
        counts = [:]
        for _ in 0..<150 { counts[scene.route(), default: 0] += 1 }
        #expect(counts == [.spare("a"): 80, .spare("b"): 50, .spare("c"): 20])
        #expect(scene.state.noneCount == 0)
        #expect(scene.explain().reason.hasPrefix("every eligible spare's predicted load has reached max_load 100.0 %"))
    }

    @Test("a login counts until the load figure can show it: the ledger fades with the load average's time constant")
    func fadingLedger() {
        var scene = Scene(mode: .always, spares: ["a"]) { $0.loginCost = 1; $0.learnsLoginCost = false }
        scene.observe(own: 0, [.init(id: "a", load: 20, age: 0)])
        for _ in 0..<10 { _ = scene.route() }
        #expect(scene.explain().candidates[0].predicted == 30)
        // Two seconds later the load average shows 3 % of the 10 logins' work; sessions show at once.
        scene.now += 2
        scene.observe(own: 0, [.init(id: "a", load: 20.33, userload: 30, age: 0)])
        let unseen = 10 * exp(-2.0 / 60)
        #expect(abs((scene.explain().candidates[0].predicted ?? 0) - (20.33 + unseen)) < 1e-9)
        // A minute on (the sessions counted no more), 63 % more of what was unseen has faded.
        scene.now += 60
        scene.observe(own: 0, [.init(id: "a", load: 20.33, userload: 20, age: 0)])
        #expect(abs((scene.explain().candidates[0].predicted ?? 0) - (20.33 + unseen * exp(-1))) < 1e-9)
        // With load_time_constant 0 the figure shows a login at the next sample: the ledger empties.
        var instant = Scene(mode: .always, spares: ["a"]) { $0.loginCost = 1; $0.learnsLoginCost = false; $0.loadTimeConstant = 0 }
        instant.observe(own: 0, [.init(id: "a", load: 20, age: 0)])
        for _ in 0..<10 { _ = instant.route() }
        instant.now += 2
        instant.observe(own: 0, [.init(id: "a", load: 21, age: 0)])
        #expect(instant.explain().candidates[0].predicted == 21)
    }

    @Test("a load figure rising on its own is taken where its trend says it settles (a rebooted spare climbing from 0)")
    func trend() {
        var scene = Scene(mode: .always, spares: ["a"]) { $0.learnsLoginCost = false }
        // Linux's load average of a server running 50 % of work from a boot at 0: every 5 s a twelfth of the way.
        var load = 0.0
        for _ in 0..<6 {
            scene.observe(own: 0, [.init(id: "a", load: load, userload: 0, age: 0)])
            scene.now += 5
            load += (50 - load) * (1 - exp(-5.0 / 60))
        }
        let predicted = scene.explain().candidates[0].predicted ?? 0
        #expect(load < 30)
        #expect(predicted > 40 && predicted < 55, "load \(load), predicted \(predicted)")
    }

    @Test("each spare's cost of a login is learned from its own samples: a quarter of a point on a server four times as big")
    func learnedCost() {
        var scene = Scene(mode: .always, spares: ["big"]) { $0.loginCost = 1; $0.learnsLoginCost = true; $0.slowStart = 0 }
        var load = 50.0, settled = 50.0
        for _ in 0..<120 {  // a login every 2 s for 4 minutes; each brings 0.25 points, shown by the load average
            scene.observe(own: 0, [.init(id: "big", load: (load * 100).rounded() / 100, userload: 0, age: 0)])
            if scene.route() == .spare("big") { settled += 0.25 }
            scene.now += 2
            load += (settled - load) * (1 - exp(-2.0 / 60))
        }
        let cost = scene.state.costs(of: scene.state.slots[0].ledger)
        #expect(abs(cost.load - 0.25) < 0.05, "learned \(cost.load)")
        #expect(cost.user < 0.05, "the sessions figure never moved: learned \(cost.user)")
    }

    @Test("a spare at 99 % with cost 0.5 takes logins while it has room, then only when no other has")
    func predictedAdmission() {
        var scene = Scene(mode: .always, spares: ["a", "b"])
        scene.observe(own: 0, [.init(id: "a", load: 99), .init(id: "b", load: 60)])
        var counts: [RouteTarget: Int] = [:]
        for _ in 0..<82 { counts[scene.route(), default: 0] += 1 }
        #expect(counts == [.spare("a"): 2, .spare("b"): 80])
        var overflow = Scene(spares: ["a", "b"]) { $0.loginCost = 5 }
        overflow.observe(own: 300, [.init(id: "a", load: 90), .init(id: "b", load: 92)])
        var targets: [RouteTarget: Int] = [:]
        for _ in 0..<8 { targets[overflow.route(), default: 0] += 1 }
        // a 90 → 100 (two logins), b 92 → 102 (two), then both predicted full: still less
        // loaded than this server at 300 %, they share by their samples' headroom (10 : 8).
        #expect(targets == [.spare("a"): 4, .spare("b"): 4])
        #expect(overflow.state.localCount == 0)
    }

    @Test("hysteresis: a spare oscillating 95/105 % is not re-admitted until below readmit_load")
    func hysteresis() {
        var scene = Scene(mode: .always, spares: ["a"])
        let loads: [Double] = [95, 105, 95, 99, 90, 86, 84.9, 95, 105, 96]
        let expected: [Bool] = [true, false, false, false, false, false, true, true, false, false]
        for (load, admitted) in zip(loads, expected) {
            scene.observe(own: 0, [.init(id: "a", load: load)])
            #expect((scene.explain().target == .spare("a")) == admitted, "load \(load)")
        }
        scene.observe(own: 0, [.init(id: "a", load: 99)])
        #expect(scene.explain().candidates[0].excludedBecause == "load 99.0 % has not come back below readmit_load 85.0 % since it reached max_load")
    }

    @Test("slow start: a spare that comes back takes a growing share; spares there at this balancer's start do not wait")
    func slowStart() {
        var scene = Scene(mode: .always, spares: ["old", "new"], slowStart: 60) { $0.loginCost = 0 }
        scene.observe(own: 0, [.init(id: "old", load: 50, age: 0), .init(id: "new", load: 50, age: 0)])
        #expect(scene.explain().candidates.map(\.share) == [1, 1])
        scene.observe(own: 0, [.init(id: "old", load: 50, age: 0), .init(id: "new", load: 50, linkUp: false)])
        scene.observe(own: 0, [.init(id: "old", load: 50, age: 0), .init(id: "new", load: 50, age: 0)])
        #expect(scene.explain().candidates[1].share == 0)
        var fractions: [Double] = []
        for _ in 0..<6 {  // six 10-second windows of 100 logins each
            var toNew = 0
            for step in 0..<100 {
                scene.now += 0.1
                if step % 10 == 0 { scene.observe(own: 0, [.init(id: "old", load: 50, age: 0), .init(id: "new", load: 50, age: 0)]) }
                if scene.route() == .spare("new") { toNew += 1 }
            }
            fractions.append(Double(toNew) / 100)
        }
        // Weight × share: at share s against an equal spare it takes s / (1 + s) of the logins.
        for (window, fraction) in fractions.enumerated() {
            let share = Double(window + 1) / 6
            #expect(fraction <= share / (1 + share) + 0.03, "window \(window): \(fractions)")
        }
        #expect(zip(fractions, fractions.dropFirst()).allSatisfy { $0 <= $1 + 0.02 }, "\(fractions)")
        #expect(fractions[0] > 0)
        scene.now += 1
        scene.observe(own: 0, [.init(id: "old", load: 50, age: 0), .init(id: "new", load: 50, age: 0)])
        #expect(scene.explain().candidates[1].share == 1)
        // A spare whose link first comes up long after this balancer started was away: it slow-starts.
        var late = Scene(mode: .always, spares: ["a", "b"], slowStart: 60)
        late.observe(own: 0, [.init(id: "a", load: 50, age: 0), .init(id: "b", load: 50, linkUp: false)])
        late.now += 30
        late.observe(own: 0, [.init(id: "a", load: 50, age: 0), .init(id: "b", load: 10, age: 0)])
        #expect(late.explain().candidates[1].share == 0)
    }

    @Test("slow start never turns logins away: a lone returning spare still takes them")
    func slowStartAlone() {
        var scene = Scene(mode: .always, spares: ["a"], slowStart: 60)
        scene.observe(own: 0, [.init(id: "a", load: 10, linkUp: false)])
        scene.now += 30
        scene.observe(own: 0, [.init(id: "a", load: 10, age: 0)])
        #expect(scene.explain().candidates[0].share == 0)
        #expect(scene.route() == .spare("a"))
    }

    @Test("undrain starts slow start; a drain takes effect on the next decision")
    func drainUndrain() {
        var scene = Scene(mode: .always, spares: ["a", "b"], slowStart: 60)
        scene.observe(own: 0, [.init(id: "a", load: 10, age: 0), .init(id: "b", load: 50, age: 0)])
        #expect(scene.route() == .spare("a"))
        scene.observe(own: 0, [.init(id: "a", load: 10, age: 0, drain: "disk swap"), .init(id: "b", load: 50, age: 0)])
        #expect(scene.route() == .spare("b"))
        scene.observe(own: 0, [.init(id: "a", load: 10, age: 0), .init(id: "b", load: 50, age: 0)])
        #expect(scene.explain().candidates[0].share == 0)
        #expect(scene.route() == .spare("b"))
    }
}

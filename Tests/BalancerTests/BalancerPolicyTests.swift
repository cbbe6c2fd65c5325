import Foundation
import Testing
@testable import Balancer

/// Builds inputs the way the daemon does: every sample taken `age` seconds before `now`.
struct Scene {
    var now: Double = 1_000
    var policy: BalancerPolicy
    var state: BalancerState
    private var sequence: UInt64 = 0

    init(
        mode: BalancerMode = .overflow, spares: [String] = ["a", "b", "c"], backups: [String] = [], slowStart: Double = 0,
        configure: (inout BalancerPolicy) -> Void = { _ in }
    ) {
        var policy = BalancerPolicy(mode: mode, spares: spares, backups: backups, ownDomain: "msu", slowStart: slowStart)
        configure(&policy)
        self.policy = policy
        self.state = BalancerState(policy: policy, seed: 1)
    }

    /// One spare as a scene describes it: `load` nil = a reply that was not a number;
    /// `userload` nil = the same as `load`.
    struct Spare {
        var id: String
        var load: Double?
        var userload: Double? = nil
        var linkUp = true
        var age: Double = 1
        var domain = "msu"
        var drain: String? = nil
        var sampled = true
        var unanswered = 0
    }

    mutating func observe(own: Double?, _ spares: [Spare]) {
        sequence += 1
        let seq = sequence
        let now = self.now
        state.update(
            BalancerInput(
                own: LoadReading(effective: own, takenAt: now, sequence: seq),
                spares: spares.map { spare in
                    SpareObservation(
                        id: spare.id, domain: spare.domain, linkUp: spare.linkUp, linkState: spare.linkUp ? "up" : "backoff",
                        reading: spare.sampled
                            ? LoadReading(load: spare.load, userload: spare.userload ?? spare.load, takenAt: now - spare.age, sequence: seq) : nil,
                        drain: spare.drain.map(Drain.init(reason:)), unansweredPolls: spare.unanswered)
                }),
            now: now)
    }

    mutating func route() -> RouteTarget { state.route(now: now) }
    func explain() -> Decision { state.explain(now: now) }
}

@Suite("lonnet's spareserver and the seed's login handler")
struct SeedBehaviourTests {
    /// (own load, spare loads, expected target): the seed's rule, overflow mode.
    static let cases: [(own: Double, loads: [Double?], expected: RouteTarget)] = [
        (40, [10, 20, 30], .local),  // at or below 100 %: stay
        (100, [10, 20, 30], .local),  // exactly 100 % still stays
        (101, [10, 20, 30], .spare("a")),  // above: the least busy spare
        (150, [60, 20, 30], .spare("b")),
        (150, [60, 30, 20], .spare("c")),
        (120, [130, 125, 140], .local),  // no spare less loaded than this server
        (120, [nil, 50, 40], .spare("c")),  // a non-numeric answer is skipped, not zero
        (120, [nil, nil, nil], .local),
        (120, [0, 0, 0], .spare("a")),  // ties: the first configured takes the first turn
    ]

    @Test("overflow mode reproduces the seed", arguments: Self.cases.indices)
    func seedRule(index: Int) {
        let (own, loads, expected) = Self.cases[index]
        var scene = Scene()
        scene.observe(own: own, zip(["a", "b", "c"], loads).map { Scene.Spare(id: $0, load: $1) })
        #expect(scene.route() == expected)
    }

    /// The seed: "Library servers can be used as backups to host sessions when all
    /// access servers in the Network are overloaded." Spares a, b, c (access
    /// servers), backups lib1, lib2 (library servers); nil = not a number.
    static let backupCases: [(mode: BalancerMode, own: Double, spares: [Double?], backups: [Double?], expected: RouteTarget)] = [
        (.overflow, 90, [120, 130, 140], [10, 20], .local),  // this server is not overloaded: stay
        (.overflow, 150, [60, 20, 30], [0, 0], .spare("b")),  // an access server can take it: never a backup
        (.overflow, 150, [120, 100, 250], [30, 20], .spare("lib2")),  // all access servers overloaded: least busy library server
        (.overflow, 150, [nil, nil, nil], [30, 20], .spare("lib2")),
        (.overflow, 150, [120, 100, 250], [110, 105], .local),  // backups overloaded too: stay
        (.always, 10, [10, 90, 95], [0, 0], .spare("a")),
        (.always, 10, [100, 120, nil], [40, 35], .spare("lib2")),
        (.always, 10, [100, 120, nil], [40, nil], .spare("lib1")),
        (.always, 10, [100, 120, nil], [100, nil], .none),  // no spare, no backup: 503
        (.roundRobin, 10, [100, 120, 140], [40, 35], .spare("lib2")),  // backups by least busy, in every mode
        (.roundRobin, 10, [100, 50, 140], [0, 0], .spare("b")),
    ]

    @Test("backups: the seed's library servers host sessions only when every access server is overloaded", arguments: Self.backupCases.indices)
    func backupTier(index: Int) {
        let (mode, own, spareLoads, backupLoads, expected) = Self.backupCases[index]
        var scene = Scene(mode: mode, backups: ["lib1", "lib2"])
        scene.observe(
            own: own,
            zip(["a", "b", "c"], spareLoads).map { Scene.Spare(id: $0, load: $1) }
                + zip(["lib1", "lib2"], backupLoads).map { Scene.Spare(id: $0, load: $1) })
        let decision = scene.explain()
        #expect(decision.target == expected)
        #expect(decision.usedBackup == (expected == .spare("lib1") || expected == .spare("lib2")))
        #expect(scene.route() == expected)
        #expect(scene.state.backupCount == (decision.usedBackup ? 1 : 0))
    }

    @Test("a backup's decision says it is one, and why")
    func backupWords() {
        var scene = Scene(mode: .always, spares: ["a"], backups: ["lib1"])
        scene.observe(own: 10, [.init(id: "a", load: 10, drain: "kernel upgrade"), .init(id: "lib1", load: 30)])
        let decision = scene.explain()
        #expect(decision.reason == "none of the 1 spares is eligible: least busy eligible backup is lib1 at 30.0 % (predicted 30.0 %)")
        #expect(decision.candidates.map(\.backup) == [false, true])
        #expect(decision.usedBackup)
        scene.observe(own: 10, [.init(id: "a", load: 10, drain: "kernel upgrade"), .init(id: "lib1", load: 100)])
        #expect(scene.explain().reason == "none of the 1 spares or 1 backup is eligible: no target for logins")
        var overflow = Scene(spares: ["a"], backups: ["lib1"])
        overflow.observe(own: 150, [.init(id: "a", load: 120), .init(id: "lib1", load: 30)])
        #expect(overflow.explain().reason == "own load 150.0 % is above 100 % and none of the 1 spares is eligible: least busy eligible backup is lib1 at 30.0 % (predicted 30.0 %)")
        _ = overflow.route()
        #expect(overflow.state.log.entries.last?.decision.usedBackup == true)
    }

    @Test("an unreachable spare is skipped")
    func unreachable() {
        var scene = Scene()
        scene.observe(own: 150, [.init(id: "a", load: 5, linkUp: false), .init(id: "b", load: 50), .init(id: "c", load: 60)])
        #expect(scene.route() == .spare("b"))
        #expect(scene.explain().candidates[0].excludedBecause == "link is backoff")
    }

    @Test("own load unknown stays local and says so")
    func ownUnknown() {
        var scene = Scene()
        scene.observe(own: nil, [.init(id: "a", load: 5)])
        #expect(scene.route() == .local)
        #expect(scene.explain().reason.contains("own load is unknown"))
    }
}

@Suite("what the seed never handled")
struct EligibilityTests {
    @Test("each exclusion, in words", arguments: [
        (Scene.Spare(id: "a", load: 10, age: 9.25), "sample 9.3 s old (stale after 6.0 s)"),
        (Scene.Spare(id: "a", load: 10, drain: "kernel upgrade"), "draining: kernel upgrade"),
        (Scene.Spare(id: "a", load: 10, domain: "hub"), "in domain hub, not this server's domain msu"),
        (Scene.Spare(id: "a", load: 100), "load 100.0 % is at or above max_load 100.0 %"),
        (Scene.Spare(id: "a", load: nil), "load unknown (the last reply was not a number)"),
        (Scene.Spare(id: "a", load: 10, sampled: false), "no load sample yet"),
        (Scene.Spare(id: "a", load: 10, linkUp: false), "link is backoff"),
        (Scene.Spare(id: "a", load: 10, unanswered: 1), "did not answer the last poll"),
        (Scene.Spare(id: "a", load: 10, unanswered: 3), "did not answer the last 3 polls"),
    ])
    func excluded(spare: Scene.Spare, words: String) {
        var scene = Scene(mode: .always, spares: ["a"])
        scene.observe(own: 150, [spare])
        let decision = scene.explain()
        #expect(decision.target == .none)
        #expect(decision.candidates.first?.eligible == false)
        #expect(decision.candidates.first?.excludedBecause == words)
        #expect(scene.route() == .none)
        #expect(scene.state.noneCount == 1)
    }

    @Test("a spare missing from the snapshot is never chosen")
    func missing() {
        var scene = Scene(mode: .always)
        scene.observe(own: 10, [.init(id: "b", load: 50)])
        #expect(scene.route() == .spare("b"))
        #expect(scene.explain().candidates[0].excludedBecause == "link is unknown")
    }

    @Test("other domains are fine when same_domain is off")
    func otherDomainAllowed() {
        var scene = Scene(mode: .always, spares: ["a"]) { $0.sameDomain = false }
        scene.observe(own: 150, [.init(id: "a", load: 10, domain: "hub")])
        #expect(scene.route() == .spare("a"))
    }

    @Test("all spares overloaded: overflow stays local, always has no target")
    func allOverloaded() {
        var overflow = Scene()
        overflow.observe(own: 300, [.init(id: "a", load: 120), .init(id: "b", load: 100), .init(id: "c", load: 250)])
        #expect(overflow.explain().target == .local)
        #expect(overflow.route() == .local)
        #expect(overflow.explain().ownLoad == 300.5)  // a local login books its cost on this server too
        #expect(overflow.state.log.entries.first?.decision.reason == "own load 300.0 % is above 100 %, but none of the 3 spares is eligible: this server takes the login")
        var always = Scene(mode: .always)
        always.observe(own: 300, [.init(id: "a", load: 120), .init(id: "b", load: 100), .init(id: "c", load: 250)])
        #expect(always.route() == .none)
        #expect(always.explain().reason == "none of the 3 spares is eligible: no target for logins")
    }

    @Test("a sample goes stale as time passes without a new one")
    func stalesWithTime() {
        var scene = Scene(mode: .always, spares: ["a"])
        scene.observe(own: 0, [.init(id: "a", load: 10, age: 0)])
        #expect(scene.route() == .spare("a"))
        scene.now += 6.5
        #expect(scene.route() == .none)
    }

    @Test("the reason names the figures")
    func reasonWords() {
        var scene = Scene()
        scene.observe(own: 112, [.init(id: "a", load: 60), .init(id: "b", load: 37.5), .init(id: "c", load: 80)])
        #expect(scene.explain().reason == "own load 112.0 % is above 100 %: least busy eligible spare is b at 37.5 % (predicted 37.5 %)")
        #expect(scene.explain().target == .spare("b"))
    }
}

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

@Suite("round-robin and the decision log")
struct RoundRobinAndLogTests {
    @Test("round-robin takes eligible spares in turn, skipping the rest")
    func turns() {
        var scene = Scene(mode: .roundRobin, spares: ["a", "b", "c", "d"])
        scene.observe(own: 0, [.init(id: "a", load: 10), .init(id: "b", load: 10, linkUp: false), .init(id: "c", load: 90), .init(id: "d", load: 10)])
        let targets = (0..<6).map { _ in scene.route() }
        #expect(targets == [.spare("a"), .spare("c"), .spare("d"), .spare("a"), .spare("c"), .spare("d")])
        #expect(scene.explain().reason.hasPrefix("round-robin: a at 10.0 %"))
    }

    @Test("repeated decisions count in one record; a new snapshot starts new records")
    func logRecords() {
        var scene = Scene(mode: .always, spares: ["a"])
        scene.observe(own: 0, [.init(id: "a", load: 10)])
        for _ in 0..<50 { _ = scene.route() }
        #expect(scene.state.log.entries.count == 1)
        #expect(scene.state.log.entries[0].count == 50)
        #expect(scene.state.log.entries[0].decision.candidates[0].predicted == 10)
        scene.observe(own: 0, [.init(id: "a", load: 20)])
        _ = scene.route()
        #expect(scene.state.log.entries.map(\.count) == [50, 1])
    }

    @Test("the log keeps the last 100 records, oldest first")
    func logRing() {
        var log = DecisionLog(capacity: 100)
        for index in 0..<250 {
            log.append(Decision(target: .local, reason: "\(index)", ownLoad: nil, candidates: []), at: Double(index))
        }
        #expect(log.entries.count == 100)
        #expect(log.entries.first?.decision.reason == "150")
        #expect(log.entries.last?.decision.reason == "249")
        #expect(log.contains(sequence: 250))
        #expect(!log.contains(sequence: 150))
        #expect(log.contains(sequence: 151))
    }

    @Test("reconfigure keeps what it knows of spares that stay")
    func reconfigure() {
        var scene = Scene(mode: .always, spares: ["a", "b"])
        scene.observe(own: 0, [.init(id: "a", load: 30), .init(id: "b", load: 20)])
        var policy = scene.policy
        policy.spares = ["a", "c"]
        scene.state.reconfigure(policy)
        #expect(scene.route() == .spare("a"))
    }
}

@Suite("the decision log under a burst over many spares")
struct DecisionLogBurstTests {
    @Test("one snapshot records at most a few dozen distinct decisions and counts the rest")
    func burst() {
        let ids = (0..<300).map { "s\($0)" }
        var scene = Scene(mode: .always, spares: ids)
        scene.observe(own: 0, ids.map { Scene.Spare(id: $0, load: 50) })
        for _ in 0..<1_000 { _ = scene.route() }
        let log = scene.state.log
        #expect(log.entries.count == BalancerState.recordsPerSnapshot)
        #expect(log.entries.reduce(0) { $0 + $1.count } + log.unrecorded == 1_000)
        #expect(log.entries.allSatisfy { $0.decision.candidates.count == 300 })
    }
}

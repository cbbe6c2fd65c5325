import Foundation
import Testing
@testable import Balancer

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

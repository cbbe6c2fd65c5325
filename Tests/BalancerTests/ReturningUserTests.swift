import Testing
@testable import Balancer

@Suite("returning users")
struct ReturningUserTests {
    @Test("a returning login goes back to the server its cookie names while that server is eligible")
    func returnsWhileEligible() {
        var scene = Scene(mode: .always, backups: ["lib1"])
        scene.observe(own: 0, [.init(id: "a", load: 20), .init(id: "b", load: 50), .init(id: "c", load: 60), .init(id: "lib1", load: 0)])
        #expect(scene.state.route(now: scene.now, returningTo: "b") == .spare("b"))
        #expect(scene.state.returningCount == 1)
        #expect(scene.state.log.entries.last?.decision.returning == true)
        #expect(scene.state.log.entries.last?.decision.reason == "returning user: the cookie names spare b at 50.0 % (predicted 50.0 %), still eligible: it takes the login back")
        #expect(scene.route() == .spare("a"))  // no cookie: the least busy
        // Excluded (drained), the cookie is ignored.
        scene.observe(own: 0, [.init(id: "a", load: 20), .init(id: "b", load: 50, drain: "upgrade"), .init(id: "c", load: 60), .init(id: "lib1", load: 0)])
        #expect(scene.state.route(now: scene.now, returningTo: "b") == .spare("a"))
        #expect(scene.state.returningCount == 1)
    }

    @Test("a forged cookie can never point outside the policy, at an excluded server, or at a backup while a spare can take the login",
          arguments: ["evil.example", "", "self", "none", "A", "a ", "lib1", "c"])
    func forged(value: String) {
        var scene = Scene(mode: .always, backups: ["lib1"])
        scene.observe(own: 0, [.init(id: "a", load: 20), .init(id: "b", load: 50), .init(id: "c", load: 100), .init(id: "lib1", load: 0)])
        #expect(scene.state.route(now: scene.now, returningTo: value) == .spare("a"))
        #expect(scene.state.returningCount == 0)
    }

    @Test("a returning login respects admission by predicted load, and may return to a backup only while backups are in use")
    func predictedAndBackups() {
        var scene = Scene(mode: .always, backups: ["lib1", "lib2"])
        scene.observe(own: 0, [.init(id: "a", load: 20), .init(id: "b", load: 99), .init(id: "c", load: 60), .init(id: "lib1", load: 0), .init(id: "lib2", load: 0)])
        let targets = (0..<3).map { _ in scene.state.route(now: scene.now, returningTo: "b") }
        #expect(targets == [.spare("b"), .spare("b"), .spare("a")])
        scene.observe(own: 0, [.init(id: "a", load: 100), .init(id: "b", load: 100), .init(id: "c", load: 100), .init(id: "lib1", load: 10), .init(id: "lib2", load: 30)])
        #expect(scene.state.route(now: scene.now, returningTo: "lib2") == .spare("lib2"))
        #expect(scene.state.log.entries.last?.decision.usedBackup == true)
        #expect(scene.state.backupCount == 1)
    }
}

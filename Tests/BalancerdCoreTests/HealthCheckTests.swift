import Foundation
import Lonc
import Testing
import BalancerdCore

/// The monitoring plugin's judgement, from documents written here.
@Suite("check-health: Monitoring Plugins answers")
struct HealthCheckTests {
    typealias Page = StatusPageTests

    func health(own: Double?, target: String = "a2", peers: [HealthDocument.Peer]) throws -> HealthDocument {
        var health = try Page.health(own: own, peers: peers)
        health.balancer.target = target
        return health
    }

    @Test("OK: one line, the target, links and load, perfdata after |")
    func ok() throws {
        let answer = HealthCheck(thresholds: .init(load: .init(warning: 85, critical: 150))).evaluate(try health(own: 20, peers: [try Page.peer("a2"), try Page.peer("a3")]))
        #expect(answer.state == .ok)
        #expect(answer.line == "BALANCERD OK - s1: logins go to a2; 2/2 links up; load 20.0 % | load=20.0%;85.0;150.0;0; userload=10.0%;;;0; links_down=0;1;;0;2 eligible_spares=2;;;0;2 delayed=0;;;0; redirects=7c no_target=0c")
        #expect(!answer.line.contains("\n"))
    }

    @Test("WARNING: a link down, or load past the warning threshold")
    func warning() throws {
        let down = HealthCheck(thresholds: .init()).evaluate(try health(own: 20, peers: [try Page.peer("a2"), try Page.peer("a3", state: .backoff, load: nil, eligible: false)]))
        #expect(down.state == .warning)
        #expect(down.line.hasPrefix("BALANCERD WARNING - s1: 1 peer link not up (a3 backoff) | "))
        let busy = HealthCheck(thresholds: .init(load: .init(warning: 85, critical: 150))).evaluate(try health(own: 90, peers: [try Page.peer("a2")]))
        #expect(busy.state == .warning)
        #expect(busy.line.hasPrefix("BALANCERD WARNING - s1: load 90.0 % >= 85.0 % | load=90.0%;85.0;150.0;0;"))
    }

    @Test("CRITICAL: no target for logins, whatever the thresholds; the worst finding first")
    func critical() throws {
        let answer = HealthCheck(thresholds: .init()).evaluate(try health(own: 150, target: "none", peers: [try Page.peer("a3", state: .givenUp, load: nil, eligible: false)]))
        #expect(answer.state == .critical)
        #expect(answer.line.hasPrefix("BALANCERD CRITICAL - s1: /login answers 503: a2 is the least busy spare; 1 peer link not up (a3 given up) | "))
        let eligible = HealthCheck(thresholds: .init(eligible: .init(critical: 1))).evaluate(try health(own: 10, target: "self", peers: [try Page.peer("a2", eligible: false)]))
        #expect(eligible.state == .critical)
        #expect(eligible.line.contains("0 eligible spares < 1"))
    }

    @Test("an unknown load is UNKNOWN when a load threshold asks for it, and U in perfdata, never 0")
    func unknownLoad() throws {
        let answer = HealthCheck(thresholds: .init(load: .init(warning: 85), linksDown: .init())).evaluate(try health(own: nil, peers: [try Page.peer("a2")]))
        #expect(answer.state == .unknown)
        #expect(answer.line.contains("| load=U%;85.0;;0;"))
        let unasked = HealthCheck(thresholds: .init()).evaluate(try health(own: nil, peers: [try Page.peer("a2")]))
        #expect(unasked.state == .ok)
        #expect(unasked.line.contains("load unknown"))
    }

    @Test("a '|' in a reason cannot start the perfdata early")
    func pipeInText() {
        let answer = HealthCheck.unknown("socket | broken\nsecond line")
        #expect(answer.line == "BALANCERD UNKNOWN - socket / broken second line")
    }
}

import Testing
import BalancerdCore

/// A reload names every changed key: applied, or needing a restart. Pure values.
@Suite("reload plan")
struct ReloadPlanTests {
    @Test("serve: poll, balancer and agent keys apply; links, http, tls and agent.listen need a restart")
    func servePlan() {
        let old = DaemonConfig(file: "b.yaml")
        var new = old
        new.poll.interval = .seconds(5)
        new.agent.loadLimit = 4
        new.balancer.maxLoad = 90
        new.links.keepalive = .seconds(3)
        new.http.threads = 8
        new.agent.listen = ListenAddress(host: "127.0.0.1", port: 5663)
        new.tls.caPath = "/elsewhere/ca.pem"
        let plan = ReloadPlan.serve(from: old, to: new)
        #expect(plan.applied == ["poll.interval", "balancer.max_load", "agent.load_limit"])
        #expect(plan.needRestart == ["tls.ca", "links.keepalive", "http.threads", "agent.listen"])
        #expect(plan.restartNote == "; restart needed for tls.ca, links.keepalive, http.threads, agent.listen (still running the old values)")
        #expect(ReloadPlan.serve(from: old, to: old).applied.isEmpty && ReloadPlan.serve(from: old, to: old).needRestart.isEmpty)
    }

    @Test("agent: certificates and load sources apply; its identity and listening socket need a restart")
    func agentPlan() {
        let old = DaemonConfig(file: "b.yaml")
        var new = old
        new.tls.certificatePath = "/new/host.pem"
        new.agent.sessionsDirectory = "/srv/sessions"
        new.links.port = 6000
        new.hostID = "other"
        let plan = ReloadPlan.agent(from: old, to: new)
        #expect(plan.applied == ["tls.cert", "agent.sessions_dir"])
        #expect(plan.needRestart == ["host_id", "links.port"])
    }
}

import Balancer
import Foundation
import Logging
import Lonc
import ServiceLifecycle
import Testing
import TestSupport
import BalancerdCore

/// Every key the schema says a reload applies, reloaded one after another in
/// one running daemon (serve, then agent, in this process with their real
/// sockets): the reload's answer names exactly that key, and every part that
/// reads it shows the new value: the links, the poller, the relay sockets,
/// the agent's accepting and its replies over a real link, the HAProxy
/// agent-check port, the balancer, /health. A key added to the schema as
/// `applied` fails `everyAppliedKeyHasAStep` until it has a step here.
@Suite("every applied key, reloaded, in effect in every part that reads it", .serialized)
struct ReloadEffectTests {
    /// What a check sees: the running daemon's parts, the rig, the load model now, the test's links.
    struct View: Sendable {
        let rig: ReloadRig
        var model: ReloadRig.LoadModel
        /// A link to the daemon's agent as s2 (in both hosts tables), up since before the reloads.
        let s2: PeerLink
        /// A link as s9, which only hosts2.tab lists.
        let s9: PeerLink
        var serve: DaemonParts? = nil
        var agent: AgentDaemon.Parts? = nil
        /// A link to the agent as s2 with the second CA's certificates.
        var s2SecondCA: PeerLink? = nil

        var policy: BalancerPolicy? { serve?.balancer.inEffect.policy }
        var balancer: LoginBalancer.InEffect? { serve?.balancer.inEffect }

        func health() -> HealthDocument? {
            let response = try? rawHTTP(port: rig.httpPort, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            guard let body = response?.components(separatedBy: "\r\n\r\n").dropFirst().first else { return nil }
            return try? HealthDocument(json: Data(body.utf8))
        }

        /// The agent's replies to `load` and `userload`, and the HAProxy line, as the model says.
        func agentFigures() async -> Bool {
            let (load, userload) = (await s2.request("load"), await s2.request("userload"))
            return load == WireNumber.format(model.load) && userload == WireNumber.format(model.userload) && rig.agentCheckLine() == model.agentCheck
        }

        /// This server's own sample, polled by serve's poller, as the model says.
        var ownSample: Bool {
            guard let own = serve?.poller.snapshot.own, let load = own.loadPercent, let userload = own.userLoadPercent else { return false }
            return abs(load - model.load) < 0.01 && abs(userload - model.userload) < 0.01
        }
    }

    typealias Check = @Sendable (View) async -> Bool
    typealias Part = (part: String, check: Check)

    /// A part that reads the step's keys, and whether it shows the new value.
    static func part(_ name: String, _ check: @escaping Check) -> Part { (name, check) }

    /// One reload: the keys it changes, to these values (`setup`: values it needs that are not its subject).
    struct Step: Sendable {
        var values: [String: String]
        var setup: [String: String] = [:]
        var model: @Sendable (inout ReloadRig.LoadModel) -> Void = { _ in }
        /// Each part that reads the keys, and whether it shows the new value.
        var parts: [Part]
    }

    static let agentFigures: [Part] = [part("agent replies and HAProxy port") { await $0.agentFigures() }]
    static let ownAndAgent: [Part] = [part("poller's own sample") { $0.ownSample }] + agentFigures

    static let serveSteps: [Step] = hostSteps + pollSteps + balancerSteps + ownLoadSteps

    static let hostSteps: [Step] = [
        Step(values: ["hosts_table": "hosts2.tab"], parts: [
            part("links") { $0.serve?.links.link(for: "s9") != nil },
            part("poller") { $0.serve?.poller.snapshot.peer("s9") != nil },
            part("relay sockets") { FileManager.default.fileExists(atPath: $0.rig.path("run/s9")) },
            part("agent") { $0.s9.status.state == .up },
        ]),
    ]

    static let pollSteps: [Step] = [
        Step(values: ["poll.interval": "300ms"], parts: [part("poller") { $0.serve?.poller.settings.interval == .milliseconds(300) }]),
        Step(values: ["poll.timeout": "100ms"], parts: [part("poller") { $0.serve?.poller.settings.timeout == .milliseconds(100) }]),
        Step(values: ["poll.stale_after": "2s"], parts: [
            part("poller") { $0.serve?.poller.settings.staleAfter == .seconds(2) }, part("balancer") { $0.policy?.staleAfter == 2 },
        ]),
        Step(values: ["poll.history": "20"], parts: [part("poller") { $0.serve?.poller.settings.history == 20 }]),
    ]

    static let balancerSteps: [Step] = [
        Step(values: ["balancer.mode": "always"], parts: [part("balancer") { $0.policy?.mode == .always }, part("/health") { $0.health()?.balancer.mode == "always" }]),
        Step(values: ["balancer.spares": "[s9]"], parts: [
            part("balancer") { $0.policy?.spares == ["s9"] }, part("/health") { $0.health()?.peers.first { $0.id == "s9" }?.spare == true },
        ]),
        Step(values: ["balancer.backups": "[s2]"], parts: [
            part("balancer") { $0.policy?.backups == ["s2"] }, part("/health") { $0.health()?.peers.first { $0.id == "s2" }?.backup == true },
        ]),
        // Read per command by the agent's drainsync: application and per drain by drain sharing.
        Step(values: ["balancer.instances": "[s1, s2]"], parts: [part("drain sharing") { $0.serve?.store.current.config.balancer.instances == ["s1", "s2"] }]),
        Step(values: ["balancer.same_domain": "false"], parts: [part("balancer") { $0.policy?.sameDomain == false }]),
        Step(values: ["balancer.login_cost": "2"], parts: [part("balancer") { $0.policy?.loginCost == 2 }]),
        Step(values: ["balancer.learn_login_cost": "true"], parts: [part("balancer") { $0.policy?.learnsLoginCost == true }]),
        Step(values: ["balancer.load_time_constant": "0s"], parts: [part("balancer") { $0.policy?.loadTimeConstant == 0 }]),
        Step(values: ["balancer.address_rate": "0"], parts: [part("booking limit") { $0.balancer?.addressRate == 0 }]),
        Step(values: ["balancer.address_burst": "7"], parts: [part("booking limit") { $0.balancer?.addressBurst == 7 }]),
        Step(values: ["balancer.readmit_load": "50"], parts: [
            part("balancer") { $0.policy?.readmitLoad == 50 }, part("/health") { $0.health()?.balancer.readmitLoadPercent == 50 },
        ]),
        Step(values: ["balancer.max_load": "80"], model: { $0.maxLoad = 80 }, parts: [
            part("balancer") { $0.policy?.maxLoad == 80 }, part("/health") { $0.health()?.balancer.maxLoadPercent == 80 },
            part("HAProxy port") { $0.rig.agentCheckLine() == $0.model.agentCheck },
        ]),
        Step(values: ["balancer.slow_start": "0s"], parts: [part("balancer") { $0.policy?.slowStart == 0 }]),
        Step(values: ["balancer.affinity_cookie": "lb_server"], parts: [part("returning-user cookie") { $0.balancer?.cookie == "lb_server" }]),
        Step(values: ["balancer.affinity_lifetime": "30m"], parts: [part("returning-user cookie") { $0.balancer?.cookieMaxAge == 1800 }]),
        Step(values: ["balancer.local_login_url": "\"https://elsewhere.example/x\""], parts: [
            part("redirects") { $0.balancer?.localBase == "https://elsewhere.example/x" },
        ]),
        Step(values: ["balancer.scheme": "http"], parts: [part("redirects") { $0.balancer?.bases["s9"] == "http://s9.localhost/login" }]),
        Step(values: ["balancer.login_path": "/enter"], parts: [part("redirects") { $0.balancer?.bases["s9"] == "http://s9.localhost/enter" }]),
    ]

    static let ownLoadSteps: [Step] = [
        Step(values: ["agent.load_limit": "0.5"], model: { $0.loadLimit = 0.5 }, parts: ownAndAgent),
        Step(values: ["agent.user_load_limit": "4"], model: { $0.userLoadLimit = 4 }, parts: ownAndAgent),
        Step(values: ["agent.sessions_dir": "sessions2"], model: { $0.sessions = "sessions2" }, parts: ownAndAgent),
        Step(values: ["agent.active_window": "5m"], model: { $0.activeWindowMinutes = 5 }, parts: ownAndAgent),
        Step(values: ["agent.load_file": "load2"], model: { $0.loadFile = "load2" }, parts: ownAndAgent),
    
    ]

    static let agentSteps: [Step] = [
        // The first state_dir holds a self-drain, the second none.
        Step(values: ["state_dir": "state2"], model: { $0.drained = false }, parts: [part("HAProxy port") { $0.rig.agentCheckLine() == $0.model.agentCheck }]),
        Step(values: ["hosts_table": "hosts2.tab"], parts: [part("agent") { $0.s9.status.state == .up }]),
        // The next client gets the new CA, certificate and key: one from the second CA links.
        Step(values: ["tls.ca": "ca2/ca.pem", "tls.cert": "ca2/s1.pem", "tls.key": "ca2/s1.key"], parts: [part("agent") { $0.s2SecondCA?.status.state == .up }]),
        Step(values: ["links.connect_timeout": "300ms"], parts: [part("agent") { $0.agent?.server.settings.handshakeTimeout == .milliseconds(300) }]),
        Step(values: ["balancer.max_load": "80"], setup: ["balancer.readmit_load": "50"], model: { $0.maxLoad = 80 }, parts: agentFigures),
        Step(values: ["agent.load_limit": "0.5"], model: { $0.loadLimit = 0.5 }, parts: agentFigures),
        Step(values: ["agent.user_load_limit": "4"], model: { $0.userLoadLimit = 4 }, parts: agentFigures),
        Step(values: ["agent.sessions_dir": "sessions2"], model: { $0.sessions = "sessions2" }, parts: agentFigures),
        Step(values: ["agent.active_window": "5m"], model: { $0.activeWindowMinutes = 5 }, parts: agentFigures),
        Step(values: ["agent.load_file": "load2"], model: { $0.loadFile = "load2" }, parts: agentFigures),
    ]

    @Test("every key serve and agent apply has a step here, and no step names another")
    func everyAppliedKeyHasAStep() {
        #expect(Set(Self.serveSteps.flatMap(\.values.keys)) == Set(ReloadPlan.appliedKeys(.serve)))
        #expect(Set(Self.agentSteps.flatMap(\.values.keys)) == Set(ReloadPlan.appliedKeys(.agent)))
    }

    @Test("serve: each applied key, reloaded alone, is named applied and shows in every part that reads it")
    func serve() async throws {
        let rig = try ReloadRig()
        defer { rig.remove() }
        let daemon = try Daemon(loaded: try rig.load(), configPath: rig.configPath, webRoot: nil, logger: ReloadRig.logger)
        let group = ServiceGroup(configuration: .init(services: daemon.services.map { .init(service: $0) }, logger: ReloadRig.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            _ = await daemon.waitUntilReady()
            let (s2, s9) = (try rig.link(as: "s2"), try rig.link(as: "s9"))
            var view = View(rig: rig, model: ReloadRig.LoadModel(), s2: s2, s9: s9, serve: daemon.parts)
            #expect(await waitFor { s2.status.state == .up } != nil)
            let before = view
            #expect(await waitFor { await before.agentFigures() && before.ownSample } != nil, "before: \(rig.agentCheckLine() ?? "none")")
            for step in Self.serveSteps {
                try await Self.run(step, view: &view) {
                    await blocking { (try? ControlClient.send("reload", to: rig.path("run/control"))) ?? "no answer" }
                }
            }
            await s2.shutdown()
            await s9.shutdown()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("agent: each applied key, reloaded alone, is named applied and shows in every part that reads it")
    func agent() async throws {
        let rig = try ReloadRig()
        defer { rig.remove() }
        try rig.write("maintenance\n", to: "state/self-drain")
        let parts = try AgentDaemon.Parts(config: try rig.load().config, hosts: try rig.load().hosts, configPath: rig.configPath, logger: ReloadRig.logger)
        let group = ServiceGroup(configuration: .init(services: AgentDaemon.services(parts, logger: ReloadRig.logger).map { .init(service: $0) }, logger: ReloadRig.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let (s2, s9) = (try rig.link(as: "s2"), try rig.link(as: "s9"))
            var view = View(rig: rig, model: ReloadRig.LoadModel(drained: true), s2: s2, s9: s9, agent: parts)
            view.s2SecondCA = try rig.link(as: "s2", certificates: "ca2/")
            #expect(await waitFor { s2.status.state == .up } != nil)
            let before = view
            #expect(await waitFor { await before.agentFigures() } != nil, "before: \(rig.agentCheckLine() ?? "none")")
            for step in Self.agentSteps {
                try await Self.run(step, view: &view) { await parts.reloader.reload() }
            }
            for link in [s2, s9, view.s2SecondCA].compactMap({ $0 }) { await link.shutdown() }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Changes the step's keys, reloads, and checks the answer and every part.
    static func run(_ step: Step, view: inout View, reload: () async -> String) async throws {
        let keys = step.values.keys.sorted()
        view.rig.values.merge(step.setup.merging(step.values) { $1 }) { $1 }
        try view.rig.writeConfig()
        step.model(&view.model)
        let answer = await reload()
        let applied = answer.components(separatedBy: "applied ").dropFirst().first?.components(separatedBy: ";").first?.components(separatedBy: ", ") ?? []
        #expect(answer.hasPrefix("ok: reloaded") && applied.sorted() == keys, "\(keys): \(answer)")
        let shown = view
        for (part, check) in step.parts {
            #expect(await waitFor { await check(shown) } != nil, "\(keys) not in effect in the \(part): \(view.rig.agentCheckLine() ?? "no HAProxy line")")
        }
    }
}

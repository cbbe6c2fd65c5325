import Foundation
import Testing
import BalancerdCore
import TestSupport

/// Two `serve` instances behind one login address (`balancer.instances`), one
/// agent: a drain given to either reaches the other over their links.
@Suite("drains shared between two balancer instances, as real processes", .serialized)
struct DrainSharingTests {
    func ctl(_ cluster: ProcessCluster, socketDirectory: String, _ arguments: [String]) async throws -> String {
        try await run(ProcessCluster.binary, ["ctl", "--socket", socketDirectory + "/control"] + arguments, environment: ["SUDO_USER": "alice"]).output
    }

    @Test("a drain on one instance shows on the other with its origin; one given while the other is down reaches it after its restart; undrain goes back")
    func drainsReachTheOtherInstance() async throws {
        let cluster = try ProcessCluster(
            agents: ["s2", "a3"], balancer: "{mode: overflow, spares: [a3], instances: [s1, s2], slow_start: 0s, login_cost: 0}")
        defer { cluster.stopAll() }
        let secondPort = try freeLoopbackPort()
        let first = cluster.directory + "/run"
        let second = cluster.directory + "/run-s2"
        // s1 is busy: its logins go to the spare a3 unless a3 is drained.
        cluster.setLoad("s1", percent: 150)
        try cluster.startAgent("a3")
        try cluster.startServe(environment: ["BALANCERD_AGENT_LISTEN": "127.0.0.1:\(cluster.port("s1"))"])
        try cluster.startServe(as: "s2", httpPort: secondPort)
        let linked = await waitFor {
            cluster.peer("s2")?.link.state == .up && cluster.peer("s1", port: secondPort)?.link.state == .up
        }
        #expect(linked != nil, "the two instances never linked: \(cluster.log("s1")) \(cluster.log("s2"))")

        // The reply names what s2 answered: `ok` only once s2 has stored the drain.
        let drained = try await ctl(cluster, socketDirectory: first, ["drain", "a3", "kernel"])
        #expect(drained.contains("ok: a3 is draining: kernel"))
        #expect(drained.contains("sent to instances: s2 ok"), "\(drained)")
        let onSecond = cluster.peer("a3", port: secondPort)
        #expect(onSecond?.draining == true)
        #expect(onSecond?.drainReason == "kernel")
        #expect(onSecond?.drainOrigin == "s1")
        #expect(onSecond?.drainedBy == "alice")
        #expect(cluster.peer("a3")?.drainOrigin == "s1")
        #expect(cluster.get("/status", port: secondPort)?.contains(" by alice on s1</span>: kernel") == true)

        // s2 is down while s1 undrains and drains again: both wait in s1's delayed
        // folder and reach s2, in order, once it is back.
        cluster.kill("s2")
        #expect(await waitFor { cluster.peer("s2")?.link.state != .up } != nil)
        #expect(try await ctl(cluster, socketDirectory: first, ["undrain", "a3"]).contains("s2 con_delayed"))
        #expect(try await ctl(cluster, socketDirectory: first, ["drain", "a3", "disk"]).contains("s2 con_delayed"))
        try cluster.startServe(as: "s2", httpPort: secondPort)
        #expect(await waitFor { cluster.peer("a3", port: secondPort)?.drainReason == "disk" } != nil, "\(cluster.log("s2"))")
        #expect(cluster.peer("a3", port: secondPort)?.drainOrigin == "s1")
        #expect(await waitFor { cluster.peer("s2")?.delayed == 0 } != nil)

        // The other way round: undrain on s2 reaches s1; nothing is sent back (no loop).
        let undrained = try await ctl(cluster, socketDirectory: second, ["undrain", "a3"])
        #expect(undrained.contains("ok: a3 takes logins again"), "\(undrained)")
        #expect(undrained.contains("sent to instances: s1 ok"), "\(undrained)")
        #expect(cluster.peer("a3")?.draining == false)
        #expect(cluster.peer("s1", port: secondPort)?.delayed == 0)
        #expect(cluster.peer("s2")?.delayed == 0)
        #expect(await waitFor { cluster.login() == "a3" } != nil)

        // s2 loses its state folder while down: when its link comes up, s1 sends
        // its own last changes again, and s2 has the drain back.
        #expect(try await ctl(cluster, socketDirectory: first, ["drain", "a3", "again"]).contains("s2 ok"))
        cluster.kill("s2")
        try FileManager.default.removeItem(atPath: cluster.directory + "/state-s2")
        try cluster.startServe(as: "s2", httpPort: secondPort)
        #expect(await waitFor { cluster.peer("a3", port: secondPort)?.drainReason == "again" } != nil, "\(cluster.log("s2"))")
        #expect(cluster.peer("a3", port: secondPort)?.drainOrigin == "s1")
    }
}

import Foundation
import Testing
import BalancerdCore

@Suite("the control socket and drains, against a real serve process", .serialized)
struct ControlTests {
    func ctl(_ cluster: ProcessCluster, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        try await run(ProcessCluster.binary, ["ctl", "-c", cluster.directory + "/balancerd.yaml"] + arguments, environment: environment)
    }

    @Test("drain with a reason takes effect on the next login, survives a restart, and undrain brings the spare back")
    func drainUndrain() async throws {
        let cluster = try ProcessCluster(agents: ["a2", "a3"])
        defer { cluster.stopAll() }
        cluster.setLoad("s1", percent: 150)
        cluster.setLoad("a2", percent: 20)
        cluster.setLoad("a3", percent: 60)
        for id in cluster.agentIDs { try cluster.startAgent(id) }
        try cluster.startServe()
        #expect(await waitFor { ["a2", "a3"].allSatisfy { cluster.peer($0)?.eligible == true } } != nil)
        #expect(cluster.login() == "a2")

        // As an operator behind sudo would: the drain records who asked, and /status says so.
        let drained = try await ctl(cluster, ["drain", "a2", "kernel", "upgrade"], environment: ["SUDO_USER": "alice"])
        #expect(drained.status == 0)
        #expect(drained.output.contains("ok: a2 is draining: kernel upgrade"))
        #expect(cluster.login() == "a3")
        #expect(cluster.peer("a2")?.excludedBecause == "draining: kernel upgrade")
        #expect(cluster.peer("a2")?.drainedBy == "alice")
        #expect(cluster.get("/status")?.contains(" by alice on s1</span>: kernel upgrade") == true)

        // Kill the daemon outright and start it again: the drain is still there.
        cluster.kill("s1")
        try cluster.startServe()
        #expect(await waitFor { cluster.peer("a3")?.eligible == true } != nil)
        #expect(cluster.peer("a2")?.draining == true)
        #expect(cluster.login() == "a3")

        #expect(try await ctl(cluster, ["undrain", "a2"]).output.contains("ok: a2 takes logins again"))
        #expect(cluster.peer("a2")?.draining == false)
        #expect(await waitFor { cluster.login() == "a2" } != nil)
    }

    @Test("status, reconnect and reload answer; unknown ids and commands are clear errors; the socket is 0600")
    func commands() async throws {
        let cluster = try ProcessCluster.started(agents: ["a2"])
        defer { cluster.stopAll() }
        #expect(await waitFor { FileManager.default.fileExists(atPath: cluster.directory + "/run/control") } != nil)
        var info = stat()
        #expect(stat(cluster.directory + "/run/control", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        let status = try await ctl(cluster, ["status", "--json"])
        #expect(status.status == 0)
        #expect((try? HealthDocument(json: Data(status.output.utf8)))?.host == "s1")
        #expect(try await ctl(cluster, ["reconnect"]).output.hasPrefix("ok"))
        #expect(try await ctl(cluster, ["reconnect", "a2"]).output.hasPrefix("ok"))
        #expect(try await ctl(cluster, ["reload"]).output.hasPrefix("ok: reloaded"))
        let unknown = try await ctl(cluster, ["drain", "nobody"])
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("error: unknown peer 'nobody'"))
        #expect(try await ctl(cluster, ["frobnicate"]).output.contains("error: unknown command"))
    }

    @Test("ctl says so clearly when no daemon is listening")
    func nobodyListening() async throws {
        let result = try await run(ProcessCluster.binary, ["ctl", "--socket", "/tmp/balancerd-no-such-socket", "status"])
        #expect(result.status == 1)
        #expect(result.output.contains("no balancerd is listening on /tmp/balancerd-no-such-socket"))
    }
}

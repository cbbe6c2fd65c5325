import Foundation
import Testing
import BalancerdCore

/// The link's life with real agent processes: killed, restarted, hung, given up.
@Suite("peer links against real agent processes", .serialized)
struct LinkFaultTests {
    func linkState(_ cluster: ProcessCluster, _ id: String) -> String? {
        cluster.peer(id)?.link.state.rawValue
    }

    func linkError(_ cluster: ProcessCluster, _ id: String) -> String? {
        cluster.peer(id)?.link.lastError
    }

    @Test("agent killed: the link drops when its connection closes, not after a timeout; agent restarted: the link comes back")
    func killAndRestart() async throws {
        let cluster = try ProcessCluster(agents: ["a2"])
        defer { cluster.stopAll() }
        // No request timeout or keepalive within the test: a drop can only come from the closed connection.
        try cluster.setConfigLine(
            "links:", "links: {connect_timeout: 1s, request_timeout: 120s, keepalive: 120s, backoff_initial: 100ms, backoff_max: 500ms, max_attempts: 1000}")
        try cluster.startAgent("a2")
        try cluster.startServe()
        #expect(await waitFor { linkState(cluster, "a2") == "up" } != nil)
        cluster.kill("a2")
        let dropped = await waitFor { linkState(cluster, "a2") != "up" && linkState(cluster, "a2") != nil }
        #expect(dropped != nil, "\(String(describing: linkError(cluster, "a2")))")
        try cluster.startAgent("a2")
        let back = await waitFor { linkState(cluster, "a2") == "up" }
        #expect(back != nil)
    }

    @Test("agent hung (SIGSTOP): requests time out and the link resets; SIGCONT: it comes back")
    func hungAgent() async throws {
        let cluster = try ProcessCluster(agents: ["a2"])
        defer {
            cluster.signal("a2", SIGCONT)
            cluster.stopAll()
        }
        try cluster.startAgent("a2")
        try cluster.startServe()
        #expect(await waitFor { linkState(cluster, "a2") == "up" } != nil)
        cluster.signal("a2", SIGSTOP)
        // request_timeout is 2 s in the test config: the next poll's request times out and resets the link.
        let reset = await waitFor { linkError(cluster, "a2")?.contains("no reply within") == true }
        #expect(reset != nil, "\(String(describing: linkError(cluster, "a2")))")
        #expect(cluster.peer("a2")?.eligible == false)
        cluster.signal("a2", SIGCONT)
        #expect(await waitFor { linkState(cluster, "a2") == "up" } != nil)
    }

    @Test("max_attempts failures give the link up; SIGUSR1 retries it")
    func givenUpThenUSR1() async throws {
        let cluster = try ProcessCluster(agents: ["a2"], maxAttempts: 3)
        defer { cluster.stopAll() }
        try cluster.startServe()
        #expect(await waitFor { linkState(cluster, "a2") == "given_up" } != nil)
        try cluster.startAgent("a2")
        // Given up means it does not try on its own: it is still given up a while after the agent is back…
        try await Task.sleep(for: .milliseconds(700))
        #expect(linkState(cluster, "a2") == "given_up")
        // …until SIGUSR1.
        cluster.signal("s1", SIGUSR1)
        #expect(await waitFor { linkState(cluster, "a2") == "up" } != nil)
    }
}

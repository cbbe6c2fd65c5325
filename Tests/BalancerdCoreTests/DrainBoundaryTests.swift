import Foundation
import Logging
import Lonc
import NIOPosix
import Testing
import BalancerdCore
import TestSupport

/// Who may change drains: the control socket's owner (`ctl`), and another of
/// `balancer.instances` over its link. Never a local relay client (the web
/// server in `socket_group`), and never with a change that names no host or
/// a revision that would overflow. Real processes, mutual TLS.
@Suite("drain changes: only the daemon sends them, and the receiver bounds them", .serialized)
struct DrainBoundaryTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    func ctl(_ socketDirectory: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await run(ProcessCluster.binary, ["ctl", "--socket", socketDirectory + "/control"] + arguments)
    }

    func change(peer: String, number: Int, origin: String = "s2", reason: String = "forged") -> String {
        #"drainsync:{"by":"mallory","draining":true,"peer":"\#(peer)","reason":"\#(reason)","revision":{"number":\#(number),"origin":"\#(origin)"},"since":"2026-01-01T00:00:00Z"}"#
    }

    /// Found by review: the relay passed `drainsync:` on as if the daemon sent
    /// it, so the web server could drain spares on the other instances, and
    /// `exit` reset the link every client shares.
    @Test("a relay client's drainsync:, critical:drainsync: and exit are refused with a reply and a log line; the other instance keeps its drains and the link stays up")
    func relayClientCannotDrain() async throws {
        let cluster = try ProcessCluster(agents: ["s2", "a3"], balancer: "{mode: overflow, spares: [a3], instances: [s1, s2], slow_start: 0s, login_cost: 0}")
        defer { cluster.stopAll() }
        let secondPort = try freeLoopbackPort()
        try cluster.startServe(environment: ["BALANCERD_AGENT_LISTEN": "127.0.0.1:\(cluster.port("s1"))"])
        try cluster.startServe(as: "s2", httpPort: secondPort)
        #expect(await waitFor { cluster.peer("s1", port: secondPort)?.link.state == .up && cluster.peer("s2")?.link.state == .up } != nil)
        let since = try #require(cluster.peer("s1", port: secondPort)?.link.since)
        // The web server on s2 writes to its relay socket for s1.
        let relay = try await connectRelay(cluster.directory + "/run-s2/s1")
        for line in [change(peer: "a3", number: 5), "critical:" + change(peer: "a3", number: 6), "exit", "critical:exit"] {
            relay.send(line + "\n")
            #expect(await relay.readLine() == "error:reserved_command", "\(line)")
        }
        relay.send("ping\n")
        #expect(await relay.readLine() == "s1")
        #expect(cluster.peer("a3")?.draining == false, "s1 took a drain from s2's web server")
        #expect(cluster.peer("s1", port: secondPort)?.link.since == since, "the link s2 → s1 was reset")
        #expect(cluster.peer("s1", port: secondPort)?.delayed == 0, "a forged critical message was stored")
        #expect(cluster.log("s2").contains("relay client line refused: it holds a word only balancerd itself sends"))
    }

    /// Found by review: a change for any id was stored, and a revision of
    /// Int.max made the next `ctl drain` of that peer trap on `number + 1`,
    /// at every start, since drains.json kept it.
    @Test("drainsync from an instance: an id the hosts table lacks or a revision out of range is refused; the largest valid one leaves ctl drain working")
    func receiverBoundsChanges() async throws {
        let cluster = try ProcessCluster(agents: ["s2", "a3"], balancer: "{mode: overflow, spares: [a3], instances: [s1, s2], slow_start: 0s, login_cost: 0}")
        defer { cluster.stopAll() }
        try cluster.startServe(environment: ["BALANCERD_AGENT_LISTEN": "127.0.0.1:\(cluster.port("s1"))"])
        // A peer holding s2's certificate, as the other instance would be.
        let transport = try OpenSSLTransport(caPath: cluster.directory + "/ca.pem", certificatePath: cluster.directory + "/s2.pem", keyPath: cluster.directory + "/s2.key")
        let link = PeerLink(
            host: HostEntry(id: "s1", domain: "test", role: "access", hostname: "s1.localhost", address: "127.0.0.1", port: cluster.port("s1")),
            settings: LinkSettings(connectTimeout: .seconds(2), requestTimeout: .seconds(5), maxAttempts: 1000, backoffInitial: .milliseconds(50), backoffMax: .milliseconds(200)),
            transport: transport, eventLoop: Self.group.next(), logger: Logger(label: "s2"))
        link.start()
        defer { Task { await link.shutdown() } }
        #expect(await waitFor { link.status.state == .up } != nil, "\(cluster.log("s1"))")
        #expect(await link.request(change(peer: "nobody", number: 1)) == "error:not_in_hosts_table")
        for number in [Int.max, DrainRevision.largestNumber + 1, 0, -1] {
            #expect(await link.request(change(peer: "a3", number: number)) == "error:bad_drainsync", "\(number)")
        }
        #expect(cluster.peer("a3")?.draining == false)
        // A reason with terminal escapes (JSON \u escapes on the wire): set the title, clear the screen, a line separator.
        let escapes = #"\u001b]0;owned\u0007\u001b[2J\u2028\u009b31m"#
        #expect(await link.request(change(peer: "a3", number: DrainRevision.largestNumber, reason: escapes)) == "ok")
        #expect(cluster.peer("a3")?.drainedBy == "mallory")
        // Found by review: ctl status printed such text raw.
        let status = try await ctl(cluster.directory + "/run", ["status"])
        #expect(status.status == 0)
        #expect(!status.output.unicodeScalars.contains { [0x1B, 0x07, 0x2028, 0x9B].contains($0.value) }, "\(status.output.debugDescription)")
        #expect(status.output.contains(#"draining: \u{1B}]0;owned\u{7}\u{1B}[2J\u{2028}\u{9B}31m"#), "\(status.output)")
        // s1's own change cannot be later than (largest, s2) (s1 sorts before s2): it says so, and serves on.
        let refused = try await ctl(cluster.directory + "/run", ["drain", "a3", "mine"])
        #expect(refused.output.contains("error: ") && refused.output.contains("a3's last change has revision \(DrainRevision.largestNumber) from s2, the largest there is"), "\(refused.output) \(cluster.log("s1"))")
        #expect(cluster.peer("a3")?.drainedBy == "mallory")
        #expect(cluster.health() != nil, "s1 is still up")
    }

    @Test("a revision out of range already in drains.json is dropped with a log line at start; the drain stays, and ctl drain works")
    func storedRevisionOutOfRange() async throws {
        let cluster = try ProcessCluster(agents: ["a3"])
        defer { cluster.stopAll() }
        try FileManager.default.createDirectory(atPath: cluster.directory + "/state", withIntermediateDirectories: true)
        try """
            {"drains": {"a3": {"reason": "old", "since": "2026-01-01T00:00:00Z", "by": "mallory", "origin": "s2"}},
             "revisions": {"a3": {"number": \(Int.max), "origin": "s2"}}}
            """.write(toFile: cluster.directory + "/state/drains.json", atomically: true, encoding: .utf8)
        try cluster.startServe()
        #expect(await waitFor { cluster.peer("a3")?.draining == true } != nil, "\(cluster.log("s1"))")
        #expect(cluster.log("s1").contains("drain revision out of range dropped"))
        let drained = try await ctl(cluster.directory + "/run", ["drain", "a3", "mine"])
        #expect(drained.status == 0 && drained.output.contains("ok: a3 is draining: mine"), "\(drained.output) \(cluster.log("s1"))")
        #expect(cluster.peer("a3")?.drainReason == "mine")
        let undrained = try await ctl(cluster.directory + "/run", ["undrain", "a3"])
        #expect(undrained.status == 0, "\(undrained.output)")
    }
}

import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TestSupport
@testable import Lonc

/// The HAProxy agent-check port beside the agent on its one event loop, as
/// `balancerd agent` runs them: whatever its clients do, peer polls go on.
@Suite("HAProxy agent-check port under load", .serialized)
struct HAProxyAgentListenerTests {
    /// An agent and an agent-check port on one event loop (`AgentDaemon`), and a link to the agent.
    struct Rig {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let agent: AgentServer
        let listener: HAProxyAgentListener
        let checkPort: Int
        let link: PeerLink

        init(replies: AgentLoadReplies = AgentFixture.replies, maxConnections: Int = HAProxyAgentListener.defaultMaxConnections, answer: @escaping @Sendable () -> String) async throws {
            let hosts = HostsTable(entries: [
                HostEntry(id: "client1", domain: "test", role: "access", hostname: "client1.localhost", address: "127.0.0.1"),
                HostEntry(id: "agent1", domain: "test", role: "access", hostname: "agent1.localhost", address: "127.0.0.2"),
            ])
            agent = AgentServer(
                settings: AgentSettings(ownID: "agent1", host: "127.0.0.1", port: 0, handshakeTimeout: .seconds(5), maxLine: 1024, replies: replies),
                hosts: { hosts }, transport: PlainTransport(), group: group, logger: Logger(label: "agent"))
            let agentPort = try await agent.start().port ?? 0
            listener = HAProxyAgentListener(host: "127.0.0.1", port: 0, group: group, logger: Logger(label: "haproxy"), maxConnections: maxConnections, answer: answer)
            checkPort = try await listener.start().port ?? 0
            // Long timeouts: a poll that is late must show as late, not as a reset link.
            link = AgentFixture.link(to: agentPort, settings: LinkSettings(
                connectTimeout: .seconds(5), requestTimeout: .seconds(30), keepalive: .seconds(30), maxAttempts: 4,
                backoffInitial: .milliseconds(10), backoffMax: .milliseconds(50), pipelineDepth: 64, maxLine: 1024))
            link.start()
        }

        func stop() async {
            await link.shutdown()
            await listener.stop()
            await agent.stop()
            try? await group.shutdownGracefully()
        }
    }

    /// Issue 25: on today's main the line is computed on the event loop for every
    /// connection, so a slow `sessions_dir` (here: a computation that waits for the
    /// test) holds every peer poll, and connections pile up without a limit.
    @Test("a slow agent-check line holds no peer poll, and connections past the cap are closed unanswered")
    func slowLine() async throws {
        let gate = DispatchSemaphore(value: 0)
        let computed = Mutex(0)
        let rig = try await Rig(maxConnections: 3) {
            computed.withLock { $0 += 1 }
            gate.wait()
            return "up ready 42%"
        }
        #expect(await eventually { rig.link.status.state == .up })
        let waiting = try (0..<3).map { _ in try RawLineClient(port: rig.checkPort) }
        #expect(await eventually { rig.listener.openConnections == 3 })
        let refused = try RawLineClient(port: rig.checkPort)
        #expect(await refused.readLine() == nil)
        #expect(rig.listener.refusedConnections == 1)
        // The agent's loop is free while the line is being computed.
        #expect(await rig.link.request("load", timeout: .seconds(10)) == "37.50")
        gate.signal()
        for client in waiting { #expect(await client.readLine() == "up ready 42%") }
        #expect(computed.withLock { $0 } == 1)
        #expect(await eventually { rig.listener.openConnections == 0 })
        await rig.stop()
    }

    /// The measurement behind RELIABILITY.md's agent-check row: poll round trips
    /// (`userload`, which lists the same folder on the agent's loop) before and
    /// during a flood of agent-check connections, with 5,000 session files.
    @Test("a flood of agent-check connections lists sessions_dir at most once per 250 ms; poll round trips are recorded")
    func flood() async throws {
        let sessions = FileManager.default.temporaryDirectory.appendingPathComponent("agent-check-flood-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: sessions, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: sessions) }
        for index in 0..<5_000 { _ = FileManager.default.createFile(atPath: "\(sessions)/s\(index)", contents: nil) }
        // Health's SessionDirectory lists the same way, one call per entry; this suite cannot import it.
        let count: @Sendable () -> Int = { (try? FileManager.default.contentsOfDirectory(atPath: sessions).count) ?? -1 }
        let listings = Mutex(0)
        let replies = AgentLoadReplies(load: { "37.50" }, userload: { "\(count())" }, loadavg: { "0.1 0.1 0.1" })
        let rig = try await Rig(replies: replies) {
            listings.withLock { $0 += 1 }
            return "up ready \(100 - count() / 100)%"
        }
        #expect(await eventually { rig.link.status.state == .up })

        func polls(_ count: Int) async -> [Double] {
            var rtts: [Double] = []
            for _ in 0..<count {
                let start = ContinuousClock.now
                guard await rig.link.request("userload", timeout: .seconds(30)) == "5000" else { return rtts }
                rtts.append((ContinuousClock.now - start).secondsValue * 1000)
            }
            return rtts
        }
        let idle = await polls(100)
        let (threads, each) = (4, 500)
        let answered = Mutex(0)
        let floodStart = ContinuousClock.now
        let finished = Mutex(0)
        for _ in 0..<threads {
            Thread { [port = rig.checkPort] in
                for _ in 0..<each {
                    guard let client = try? RawLineClient(port: port) else { continue }
                    if client.readLineNow()?.hasPrefix("up ") == true { answered.withLock { $0 += 1 } }
                }
                finished.withLock { $0 += 1 }
            }.start()
        }
        var during: [Double] = []
        while finished.withLock({ $0 }) < threads { during += await polls(10) }
        let elapsed = (ContinuousClock.now - floodStart).secondsValue
        let listed = listings.withLock { $0 }
        #expect(listed <= 2 + Int(elapsed / 0.25), "\(listed) listings in \(elapsed) s")
        #expect(idle.count == 100 && !during.isEmpty)
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        let report = String(
            format: "agent-check flood: %d connections (%d answered) from %d threads in %.2f s, %d listings of 5,000 session files; userload poll round trip idle p50 %.2f ms p99 %.2f ms, during the flood p50 %.2f ms p99 %.2f ms max %.2f ms (%d polls)\n",
            threads * each, answered.withLock { $0 }, threads, elapsed, listed, percentile(idle, 0.5), percentile(idle, 0.99),
            percentile(during, 0.5), percentile(during, 0.99), during.max() ?? .nan, during.count)
        print(report, terminator: "")
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build").standardizedFileURL.path
        try? report.write(toFile: folder + "/agent-check-flood.txt", atomically: true, encoding: .utf8)
        await rig.stop()
    }
}

extension HAProxyAgentListenerTests {
    @Test("the cache: fresh lines are served, a stale one computed once while the others wait")
    func cache() {
        var cache = AgentCheckAnswerCache(maxAge: .milliseconds(250))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(cache.ask(at: start) == .compute)
        #expect(cache.ask(at: start) == .wait)
        cache.computed("up ready 90%", at: start + .milliseconds(40))
        #expect(cache.ask(at: start + .milliseconds(289)) == .answer("up ready 90%"))
        #expect(cache.ask(at: start + .milliseconds(290)) == .compute)
        #expect(cache.ask(at: start + .milliseconds(400)) == .wait)
        cache.computed("up drain 0%", at: start + .milliseconds(500))
        #expect(cache.ask(at: start + .milliseconds(600)) == .answer("up drain 0%"))
    }
}

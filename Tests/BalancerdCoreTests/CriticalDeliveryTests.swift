import Foundation
import TestSupport
import Testing
import BalancerdCore
import Lonc

/// Sends `critical:store:<n>` for n in 0..<count through a relay socket, one at
/// a time, reconnecting whenever `serve` dies. A message whose reply never came
/// (serve killed mid-request) has an unknown fate; the sender settles it the
/// way an application would: it was accepted when its file is in s1's delayed
/// folder or its command is in the handler's store (looked at in that order:
/// the handler stores before the file is removed), else it is sent again.
final class CriticalSender: @unchecked Sendable {
    struct Counts: Sendable {
        var answered: [String: Int] = [:]
        var unsettled = 0
        var settledAccepted = 0
        var sentAgain = 0
    }

    let relayPath: String
    let delayedPath: String
    let handler: StoreHandlerProcess
    let count: Int
    private let progress = Locked(0)

    init(relayPath: String, delayedPath: String, handler: StoreHandlerProcess, count: Int) {
        self.relayPath = relayPath
        self.delayedPath = delayedPath
        self.handler = handler
        self.count = count
    }

    /// Messages accepted so far.
    var accepted: Int { progress.withLock { $0 } }

    func run(deadline: ContinuousClock.Instant) -> Counts {
        var counts = Counts()
        var next = 0
        var client: RelayClient?
        while next < count, ContinuousClock.now < deadline {
            guard let relay = client ?? (try? RelayClient(path: relayPath)) else {
                usleep(20_000)
                continue
            }
            client = relay
            relay.send("critical:store:\(next)\n")
            guard let reply = relay.readLineNow() else {
                client = nil
                counts.unsettled += 1
                if wasAccepted(next) {
                    counts.settledAccepted += 1
                    next += 1
                    progress.withLock { $0 = next }
                } else {
                    counts.sentAgain += 1
                }
                continue
            }
            counts.answered[reply, default: 0] += 1
            next += 1
            progress.withLock { $0 = next }
        }
        return counts
    }

    private func wasAccepted(_ index: Int) -> Bool {
        let wanted = "store:\(index)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: delayedPath)) ?? []
        for name in names where !name.hasPrefix(".") {
            if (try? String(contentsOfFile: delayedPath + "/" + name, encoding: .utf8)) == wanted + "\n" { return true }
        }
        return handler.stored().contains { $0.command == wanted }
    }
}

@Suite("critical messages through a real application handler, with real processes", .serialized)
struct CriticalDeliveryTests {
    /// s1's serve and b1's agent, which hands the commands it does not own to a
    /// real store-handler.py; returns once the link is up. The caller stops both.
    static func handlerCluster() async throws -> (ProcessCluster, StoreHandlerProcess) {
        let cluster = try ProcessCluster(agents: ["b1"])
        let handler: StoreHandlerProcess
        do {
            handler = try StoreHandlerProcess(directory: cluster.directory)
        } catch {
            cluster.stopAll()
            throw error
        }
        do {
            guard await handler.waitUntilListening() else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "store-handler.py never listened on \(handler.socket)"])
            }
            try cluster.startAgent("b1", environment: ["BALANCERD_AGENT_HANDLER": handler.socket])
            try cluster.startServe()
        } catch {
            handler.stop()
            cluster.stopAll()
            throw error
        }
        #expect(await waitFor { cluster.peer("b1")?.link.state.rawValue == "up" } != nil)
        return (cluster, handler)
    }

    @Test("2,000 critical messages reach b1's handler in order, each stored once, while b1's agent is killed 10 times and s1's serve 10 times")
    func killsWhileFlowing() async throws {
        let messages = 2000
        let (cluster, handler) = try await Self.handlerCluster()
        defer {
            handler.stop()
            cluster.stopAll()
        }
        let withHandler = ["BALANCERD_AGENT_HANDLER": handler.socket]

        let delayed = cluster.directory + "/state/delayed"
        let sender = CriticalSender(relayPath: cluster.directory + "/run/b1", delayedPath: delayed, handler: handler, count: messages)
        let started = ContinuousClock.now
        let sending = Task { await blocking { sender.run(deadline: started + .seconds(100)) } }

        // 20 kills at random points of the flow (by messages accepted), 10 of each kind in random order.
        let points = (0..<20).map { _ in Int.random(in: 40..<(messages - 40)) }.sorted()
        let kinds = (Array(repeating: "agent", count: 10) + Array(repeating: "serve", count: 10)).shuffled()
        var kills: [String: Int] = [:]
        for (point, kind) in zip(points, kinds) {
            _ = await waitFor { sender.accepted >= point }
            if kind == "agent" {
                cluster.kill("b1")
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...300)))
                try cluster.startAgent("b1", environment: withHandler)
            } else {
                cluster.kill("s1")
                try cluster.startServe()
            }
            kills[kind, default: 0] += 1
        }
        let counts = await sending.value
        let allStored = await waitFor { handler.stored().count >= messages }
        let elapsed = ContinuousClock.now - started

        let stored = handler.stored()
        let commands = stored.map(\.command)
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: delayed)) ?? []).filter { $0.hasSuffix(".b1") }
        let rejected = ((try? FileManager.default.contentsOfDirectory(atPath: delayed + "/rejected")) ?? [])
        print(
            """
            critical delivery end to end: \(messages) messages s1 relay → link → b1 agent → store-handler.py in \(elapsed)
              kills: b1 agent \(kills["agent"] ?? 0), s1 serve \(kills["serve"] ?? 0) (SIGKILL at \(points))
              sender: replies \(counts.answered.sorted { $0.key < $1.key }), unanswered \(counts.unsettled) \
            (accepted before the kill \(counts.settledAccepted), sent again \(counts.sentAgain))
              handler: stored \(stored.count), distinct ids \(Set(stored.map(\.id)).count), duplicates dropped by id \(handler.duplicatesDropped), \
            in send order \(commands == (0..<messages).map { "store:\($0)" })
              s1 delayed/ left \(left.count), rejected \(rejected.count)
            """)
        #expect(kills == ["agent": 10, "serve": 10])
        #expect(allStored != nil, "the handler stored \(stored.count) of \(messages)")
        #expect(commands == (0..<messages).map { "store:\($0)" }, "every message, in send order, exactly once")
        #expect(Set(stored.map(\.id)).count == stored.count)
        #expect(stored.allSatisfy { $0.peer == "s1" })
        #expect(left.isEmpty)
        #expect(rejected.isEmpty)
    }

    @Test("a critical message the peer refuses is kept in delayed/rejected/ with its reply, counted in /metrics and /health, never deleted")
    func rejected() async throws {
        let cluster = try ProcessCluster(agents: ["b1"])
        defer { cluster.stopAll() }
        try cluster.startAgent("b1")  // no agent.handler: everything but its own commands is unknown_cmd
        try cluster.startServe()
        #expect(await waitFor { cluster.peer("b1")?.link.state.rawValue == "up" } != nil)
        let relay = try await connectRelay(cluster.directory + "/run/b1")
        relay.send("critical:store:homework\n")
        #expect(await relay.readLine() == "unknown_cmd")
        let rejected = cluster.directory + "/state/delayed/rejected"
        let names = try FileManager.default.contentsOfDirectory(atPath: rejected).sorted()
        #expect(names.count == 2)
        let message = try #require(names.first { !$0.hasSuffix(".reply") })
        #expect(try String(contentsOfFile: rejected + "/" + message, encoding: .utf8) == "store:homework\n")
        #expect(try String(contentsOfFile: rejected + "/" + message + ".reply", encoding: .utf8) == "unknown_cmd\n")
        let metrics = cluster.get("/metrics") ?? ""
        #expect(metrics.contains(#"balancerd_relay_rejected_total{peer="b1"} 1"#))
        #expect(metrics.contains("balancerd_delayed_rejected_messages 1"))
        #expect(cluster.health()?.relay?.rejectedMessages == 1)
        #expect(cluster.health()?.relay?.rejectedTotal == 1)
        #expect(cluster.get("/status")?.contains("1 rejected message") == true)
        #expect(cluster.log("s1").contains("peer=b1 reply=unknown_cmd") && cluster.log("s1").contains("critical message rejected by the peer"))
    }

    @Test("a file another tool drops into delayed/ (the seed's names: anything ending in .<peer id>) goes out within a second while the link is up, oldest first")
    func droppedIn() async throws {
        let (cluster, handler) = try await Self.handlerCluster()
        defer {
            handler.stop()
            cluster.stopAll()
        }
        let delayed = cluster.directory + "/state/delayed"
        // Written to a hidden name and renamed, as the seed's handlers did; the later
        // name is older by its modification time, so it goes first.
        for (name, line, age) in [("zz_lonnet_1234.b1", "store:older", 10.0), ("aa_lonnet_5678.b1", "store:newer", 5.0)] {
            try (line + "\n").write(toFile: delayed + "/." + name, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-age)], ofItemAtPath: delayed + "/." + name)
        }
        for name in ["zz_lonnet_1234.b1", "aa_lonnet_5678.b1"] { rename(delayed + "/." + name, delayed + "/" + name) }
        let took = await waitFor { handler.stored().count == 2 }
        print("dropped-in delayed files: sent \(took.map { "\($0)" } ?? "never") after they appeared (load \(loadAverage()))")
        #expect(took != nil)
        #expect(handler.stored().map(\.command) == ["store:older", "store:newer"])
        #expect(handler.stored().map(\.id) == ["zz_lonnet_1234.b1", "aa_lonnet_5678.b1"])
    }
}

/// The 1-minute load average, to print beside a time.
func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").first.map(String.init) ?? "?"
}

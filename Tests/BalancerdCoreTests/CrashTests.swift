import Foundation
import Testing
import TestSupport
import BalancerdCore
import Lonc

@Suite("nothing lost when the daemon is killed", .serialized)
struct CrashTests {
    static let messages = Int(ProcessInfo.processInfo.environment["CRASH_TEST_MESSAGES"] ?? "") ?? 2000
    /// A serve process with one peer, a recording agent in this process.
    /// Unchecked Sendable: one test uses it, one call at a time (`waitFor` reads `waiting` from its own thread).
    final class Daemon: @unchecked Sendable {
        let directory: String
        private(set) var process: Process?

        init(peerPort: Int) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("balancerd-crash-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try "s1:t:access:s1.localhost:127.0.0.1:1\nr1:t:access:r1.localhost:127.0.0.1:\(peerPort)\n"
                .write(toFile: directory + "/hosts.tab", atomically: true, encoding: .utf8)
            try """
                host_id: s1
                hosts_table: hosts.tab
                state_dir: state
                socket_dir: run
                tls: {insecure: true}
                links: {connect_timeout: 1s, request_timeout: 2s, backoff_initial: 20ms, backoff_max: 100ms, max_attempts: 100000}
                poll: {interval: 5s, timeout: 1s, stale_after: 15s}
                http: {listen: "127.0.0.1:0"}
                """.write(toFile: directory + "/balancerd.yaml", atomically: true, encoding: .utf8)
        }

        func start() throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ProcessCluster.binary)
            process.arguments = ["serve", "-c", directory + "/balancerd.yaml", "--log-level", "warning"]
            process.standardOutput = FileHandle.nullDevice
            _ = FileManager.default.createFile(atPath: directory + "/serve.log", contents: nil)
            let log = FileHandle(forWritingAtPath: directory + "/serve.log")
            log?.seekToEndOfFile()
            process.standardError = log
            try process.run()
            self.process = process
        }

        func kill() {
            guard let process else { return }
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            self.process = nil
        }

        var waiting: Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/state/delayed")) ?? []).filter { $0.hasSuffix(".r1") }.count
        }

        var log: String { (try? String(contentsOfFile: directory + "/serve.log", encoding: .utf8)) ?? "" }

        deinit {
            kill()
            let unmount = Process()
            unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
            unmount.arguments = [directory + "/state"]
            unmount.standardError = FileHandle.nullDevice
            if (try? unmount.run()) != nil { unmount.waitUntilExit() }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test("2,000 critical messages stored while the peer is down survive 10 SIGKILLs during replay: all delivered, in order, at most one duplicate per kill")
    func killDuringReplay() async throws {
        let peerPort = try freeLoopbackPort()
        let daemon = try Daemon(peerPort: peerPort)
        try daemon.start()
        let socketPath = daemon.directory + "/run/r1"

        // The peer is down: every critical message is stored on disk.
        let relay = try await connectRelay(socketPath)
        let started = ContinuousClock.now
        var delayed = 0
        if ProcessInfo.processInfo.environment["CRASH_TEST_FILES"] != nil {
            for index in 0..<Self.messages {
                try "store:\(index)\n".write(toFile: String(format: "%@/state/delayed/000000000100.%09d.r1", daemon.directory, index + 1), atomically: true, encoding: .utf8)
                delayed += 1
            }
        } else {
            let count = Self.messages
            delayed = await blocking {
                relay.send((0..<count).map { "critical:store:\($0)\n" }.joined())
                var delayed = 0
                for _ in 0..<count where relay.readLineNow() == "con_delayed" { delayed += 1 }
                return delayed
            }
        }
        let storing = ContinuousClock.now - started
        #expect(delayed == Self.messages)
        #expect(daemon.waiting == Self.messages)
        print("stored 2,000 critical messages with fsync in \(storing)")

        // The peer comes up; the daemon is killed at random points of the replay, ten times.
        let peer = try ScriptedAgent(id: "r1", port: peerPort) { _ in "ok" }
        defer { peer.stopListening() }
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        for _ in 0..<10 {
            let target = peer.received.count + Int.random(in: 1...120, using: &generator)
            guard await waitFor(failureBound, { peer.received.count >= target || daemon.waiting == 0 }) != nil, daemon.waiting > 0 else { break }
            daemon.kill()
            kills += 1
            try daemon.start()
        }
        #expect(kills == 10, "the replay finished before ten kills")
        #expect(await waitFor { daemon.waiting == 0 } != nil)
        daemon.kill()

        // In order, each at least once; a message in flight at a kill may come twice.
        var expected = 0
        var duplicates = 0
        var outOfOrder: [String] = []
        // On the link each is critical:<file name>:store:<n>; the command is what counts here.
        let commands = peer.received.map { CriticalMessage(line: $0)?.command ?? $0 }
        for line in commands {
            guard line.hasPrefix("store:"), let value = Int(line.dropFirst(6)) else { continue }
            if value == expected {
                expected += 1
            } else if value == expected - 1 {
                duplicates += 1
            } else {
                outOfOrder.append("\(value) when \(expected) was next")
            }
        }
        let journal = peer.receivedWithConnection.map { (CriticalMessage(line: $0.line)?.command ?? $0.line, $0.connection) }
            .filter { $0.0.hasPrefix("store:") }.map { "\($0.0)@\($0.1)" }
        let firstBad = outOfOrder.first.flatMap { $0.split(separator: " ").first }.map { "store:\($0)" }
        let position = journal.firstIndex { firstBad != nil && $0.hasPrefix(firstBad! + "@") } ?? 0
        #expect(outOfOrder.isEmpty, "\(outOfOrder.prefix(3)); journal around it: \(journal[max(0, position - 6)..<min(journal.count, position + 4)])")
        #expect(expected == Self.messages)
        #expect(duplicates <= kills, "\(duplicates) duplicates for \(kills) kills")
    }
}

extension CrashTests {
    @Test("a full disk: critical messages get con_failed and a log line, and the daemon keeps serving")
    func fullDisk() async throws {
        guard getuid() == 0 else { return }  // a tiny tmpfs needs root; CI runs as root
        let daemon = try Daemon(peerPort: try freeLoopbackPort())
        try FileManager.default.createDirectory(atPath: daemon.directory + "/state", withIntermediateDirectories: true)
        let mount = try await run("/bin/mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", daemon.directory + "/state"])
        try #require(mount.status == 0, "mount: \(mount.output)")
        try daemon.start()
        let relay = try await connectRelay(daemon.directory + "/run/r1")
        let replies = await blocking {
            relay.send((0..<50).map { "critical:store:\(String(repeating: "x", count: 500))\($0)\n" }.joined())
            return (0..<50).compactMap { _ in relay.readLineNow() }
        }
        #expect(replies.count == 50)
        #expect(replies.contains("con_delayed"))
        #expect(replies.contains("con_failed"))
        #expect(replies.allSatisfy { $0 == "con_delayed" || $0 == "con_failed" })
        #expect(await waitFor { daemon.log.contains("lost to the caller") && daemon.log.contains("No space left on device") } != nil, "\(daemon.log)")
        // Still serving: the relay answers, and the process runs.
        relay.send("ping\n")
        #expect(await relay.readLine() == "con_lost")
        #expect(daemon.process?.isRunning == true)
    }
}


import Foundation
import Logging
import Testing
import TestSupport
@testable import Lonc

/// What a local relay client may send: anything but the daemon's own words,
/// and critical lines that fit on the wire. A real link to a real agent, whose
/// application notes every command it is handed.
@Suite("the relay refuses the daemon's own words from local clients", .serialized)
struct RelayWordsTests {
    @Test("the daemon's words, bare or inside critical:, are words only", arguments: [
        ("drainsync:{}", "drainsync:"), ("critical:drainsync:{}", "drainsync:"), ("critical:critical:drainsync:{}", "drainsync:"),
        ("exit", "exit"), ("critical:exit", "exit"), ("init", "init"), ("sethost:a2", "sethost:"), ("version:1 ids", "version:"),
        ("critical:version:1", "version:"),
    ])
    func reserved(line: String, word: String) {
        #expect(WireProtocol.reservedWord(in: line) == word)
    }

    @Test("ordinary commands are not reserved", arguments: ["ping", "load", "store:exit", "exit2", "critical:store:drainsync:", " exit", "initialise", "#5 exit"])
    func notReserved(line: String) {
        #expect(WireProtocol.reservedWord(in: line) == nil)
    }

    @Test("a local client's drainsync:, exit or handshake word is answered error:reserved_command with a log line and reaches neither the link nor the folder; the daemon's own drainsync goes through")
    func refusedFromLocalClients() async throws {
        let log = CapturedLog()
        try await withRouter(log: log) { router, link, queue, application in
            let since = link.status.since
            for line in ["drainsync:{\"peer\":\"a3\"}", "critical:drainsync:{\"peer\":\"a3\"}", "exit", "critical:exit", "init", "sethost:agent1", "version:9 ids"] {
                #expect(await router.handle(peer: "agent1", line: line, from: .localClient) == "error:reserved_command", "\(line)")
            }
            #expect(await application.asked.isEmpty)
            #expect(queue.pending().isEmpty, "nothing stored")
            #expect(link.status.since == since, "the link was not reset")
            let refused = log.entries.filter { $0.message == "relay client line refused: it holds a word only balancerd itself sends" }
            #expect(refused.count == 7)
            #expect(refused.first?.metadata["peer"] == "agent1" && refused.first?.metadata["word"] == "drainsync:")
            #expect(refused[1].metadata["critical"] == "true")

            #expect(await router.handle(peer: "agent1", line: "drainsync:{}", from: .daemon) == "unknown_cmd")
            #expect(await router.handle(peer: "agent1", line: "critical:store:x", from: .localClient) == "ok")
            #expect(await application.asked.map(\.command) == ["drainsync:{}", "store:x"])
        }
    }

    /// A critical line goes out as `critical:<id>:<cmd>` behind a `#<id> ` tag:
    /// one that fits the relay socket but not the link would be stored, sent,
    /// refused by the link and moved to rejected/; it is refused at once instead.
    @Test("a critical line that would not fit under max_line with its id and tag is answered error:line_too_long and not stored")
    func criticalTooLongForTheWire() async throws {
        try await withRouter { router, _, queue, application in
            let fits = 1024 - WireRequestID.longestPrefix - CriticalMessage.lineLength(peer: "agent1", command: "store:")
            #expect(await router.handle(peer: "agent1", line: "critical:store:" + String(repeating: "x", count: fits), from: .localClient) == "ok")
            #expect(await router.handle(peer: "agent1", line: "critical:store:" + String(repeating: "x", count: fits + 1), from: .localClient) == "error:line_too_long")
            #expect(queue.pending().isEmpty && queue.setAside.rejected == 0)
            #expect(await application.asked.count == 1)
        }
    }

    /// A relay router (max_line 1024) over a link that is up to an agent whose application records what it is asked.
    func withRouter(
        log: CapturedLog = CapturedLog(), _ body: (RelayRouter, PeerLink, DelayedQueue, RecordingApplication) async throws -> Void
    ) async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("balancerd-words-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let application = RecordingApplication()
        let settings = LinkSettings(requestTimeout: .seconds(5), keepalive: .seconds(5), maxLine: 1024)
        try await AgentFixture.withLinkUp(settings: settings, application: application) { link in
            let queue = try DelayedQueue(stateDirectory: state, logger: Logger(label: "q"))
            let router = RelayRouter(queue: queue, maxLine: 1024, logger: Logger(label: "relay") { _ in log })
            router.setLinks([link])
            try await body(router, link, queue, application)
        }
    }
}

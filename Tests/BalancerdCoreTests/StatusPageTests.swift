import Foundation
import Lonc
import Testing
import BalancerdCore
import FuzzTargets
import TestSupport

/// The server-rendered `/status` page from documents written here: what an
/// operator must be able to read in it, with scripts off.
@Suite("status page rendered on the server")
struct StatusPageTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18 11:06:40 UTC

    /// Documents are built as the endpoint serves them: JSON, decoded into the public types.
    static func decode<T: Decodable>(_ object: [String: Any]) throws -> T {
        try StatusDocumentCoding.decoder().decode(T.self, from: JSONSerialization.data(withJSONObject: object))
    }

    static func iso(_ date: Date?) -> Any { date.map { ISO8601DateFormatter().string(from: $0) } ?? NSNull() }
    static func value(_ number: Double?) -> Any { number ?? NSNull() }

    static func peer(_ id: String, state: LinkState = .up, load: Double? = 40, rtt: Double? = 0.42, eligible: Bool = true) throws -> HealthDocument.Peer {
        try decode([
            "id": id, "domain": "msu", "role": "access", "hostname": "\(id).example.edu", "spare": true, "backup": false,
            "draining": false, "drain_reason": NSNull(), "drain_since": NSNull(), "drained_by": NSNull(), "drain_origin": NSNull(), "eligible": eligible, "slow_start_share": 1,
            "excluded_because": eligible ? NSNull() : "link is \(state.rawValue)",
            "link": [
                "state": state.rawValue, "since": iso(now.addingTimeInterval(-300)), "attempts": state == .up ? 0 : 4,
                "last_error": state == .up ? NSNull() : "connection refused", "rtt_ms": value(rtt), "peer_version": NSNull(),
                "tls": "TLSv1.3", "tls_cipher": NSNull(), "requests_total": 10, "failures_total": 0,
            ] as [String: Any],
            "load": [
                "load_percent": value(load), "userload_percent": value(load), "effective_percent": value(load),
                "predicted_percent": value(load), "sampled_at": load == nil ? NSNull() : iso(now),
                "age_s": load == nil ? NSNull() : 0.2, "stale": load == nil,
            ] as [String: Any],
            "delayed": 0, "history": [Any](),
        ])
    }

    static func health(own: Double?, peers: [HealthDocument.Peer]) throws -> HealthDocument {
        var document: HealthDocument = try decode([
            "host": "s1", "version": "0.1.0", "status": "ok", "generated_at": iso(now), "uptime_s": 3600,
            "started_at": iso(now.addingTimeInterval(-3600)),
            "self": [
                "load_percent": value(own), "userload_percent": 10, "effective_percent": value(own), "predicted_percent": value(own),
                "history": [Any](),
            ] as [String: Any],
            "balancer": [
                "mode": "overflow", "target": "a2", "reason": "a2 is the least busy spare", "backup": false, "redirects_total": 7,
                "backup_redirects_total": 0, "no_target_total": 0, "max_load_percent": 100, "readmit_load_percent": 85,
            ] as [String: Any],
            "peers": [Any](),
        ])
        document.peers = peers
        return document
    }

    static func decisions(_ entries: [DecisionsDocument.Entry] = []) throws -> DecisionsDocument {
        var document: DecisionsDocument = try decode(["host": "s1", "generated_at": iso(now), "not_recorded_total": 0, "decisions": [Any]()])
        document.decisions = entries
        return document
    }

    static func entry(_ target: String, _ reason: String, at offset: Double) throws -> DecisionsDocument.Entry {
        try decode([
            "time": iso(now.addingTimeInterval(offset)), "first_time": iso(now.addingTimeInterval(offset)), "count": 1,
            "target": target, "backup": false, "returning": false, "reason": reason, "own_load_percent": NSNull(), "candidates": [Any](),
        ])
    }

    @Test("every peer is a table row with its link state, load, verdict and reason")
    func rows() throws {
        let html = StatusPage(health: try Self.health(own: 20, peers: [try Self.peer("a2"), try Self.peer("a3", state: .backoff, load: nil, eligible: false)]),
                              decisions: try Self.decisions()).html()
        #expect(html.contains(#"<tr data-peer-id="a2">"#))
        #expect(html.contains(#"<tr data-peer-id="a3">"#))
        #expect(html.contains(#"<span class="state up">up</span>"#))
        #expect(html.contains(#"<span class="eligible">eligible</span> · predicted 40.0 %"#))
        #expect(html.contains("excluded</span>: link is backoff"))
        #expect(html.contains("Next login goes to</h2>\n    <p class=\"target\">a2</p>"))
    }

    @Test("an unknown load reads 'unknown', never 0")
    func unknownIsNotZero() throws {
        let html = StatusPage(health: try Self.health(own: nil, peers: [try Self.peer("a3", state: .backoff, load: nil, eligible: false)]), decisions: try Self.decisions()).html()
        #expect(html.contains(#"<span class="value muted">unknown</span>"#))
        #expect(!html.contains(#"<span class="value">0.0 %"#))
        #expect(html.contains("no sample yet"))
    }

    @Test("a link in backoff shows its failed attempts and error, not its last round trip")
    func backoffHidesRoundTrip() throws {
        let html = StatusPage(health: try Self.health(own: 20, peers: [try Self.peer("a3", state: .backoff, rtt: 12.34)]), decisions: try Self.decisions()).html()
        #expect(!html.contains("12.34 ms"))
        #expect(html.contains("4 failed attempts"))
        #expect(html.contains(#"<div class="error">connection refused</div>"#))
        let up = StatusPage(health: try Self.health(own: 20, peers: [try Self.peer("a2", rtt: 12.34)]), decisions: try Self.decisions()).html()
        #expect(up.contains("12.34 ms"))
    }

    @Test("the header says when this server is past max_load, though status is ok")
    func busyBadge() throws {
        let busy = StatusPage(health: try Self.health(own: 138, peers: []), decisions: try Self.decisions()).html()
        #expect(busy.contains(#"<span class="badge ok""#))
        #expect(busy.contains(#"<span class="badge busy">this server at 138.0 %, max_load 100.0 %</span>"#))
        let calm = StatusPage(health: try Self.health(own: 99, peers: []), decisions: try Self.decisions()).html()
        #expect(!calm.contains("badge busy"))
    }

    @Test("thresholds are drawn on the bars and named, times carry UTC")
    func thresholdsAndTimes() throws {
        let html = StatusPage(health: try Self.health(own: 50, peers: [try Self.peer("a2")]), decisions: try Self.decisions()).html()
        // Scale 120: max_load 100 at 83.3 %, readmit_load 85 at 70.8 %.
        #expect(html.contains(#"<div class="mark max" style="left:83.3%" title="max_load 100.0 %">"#))
        #expect(html.contains(#"<div class="mark readmit" style="left:70.8%" title="readmit_load 85.0 %">"#))
        #expect(html.contains(#"<span class="mark-name max" data-name="max_load" style="left:83.3%"></span>"#))
        #expect(html.contains("red at or above max_load (100.0 %)"))
        #expect(html.contains("since 11:01:40 UTC (5 min ago)"))
    }

    @Test("slow start and a drain, with when it began, are in the verdict")
    func slowStartAndDrain() throws {
        var peer = try Self.peer("a2")
        peer.slowStartShare = 0.25
        peer.draining = true
        peer.drainReason = "kernel update (jdoe)"
        peer.drainSince = Self.now.addingTimeInterval(-60)
        let html = StatusPage(health: try Self.health(own: 20, peers: [peer]), decisions: try Self.decisions()).html()
        #expect(html.contains("slow start: 25 % of its share"))
        #expect(html.contains(#"<span class="drain">drained since 11:05:40 UTC</span>: kernel update (jdoe)"#))
    }

    @Test("text from the config and peers is escaped")
    func escaping() throws {
        var peer = try Self.peer("a2")
        peer.hostname = #"<script>alert("x")</script>"#
        let html = StatusPage(health: try Self.health(own: 20, peers: [peer]), decisions: try Self.decisions()).html()
        #expect(!html.contains("<script>alert"))
        #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"))
    }

    @Test("decisions that differ only in figures fold into one line with a count")
    func foldedDecisions() throws {
        let entries = try (0..<12).map { try Self.entry("a2", "a2 is the least busy spare at \(40 + $0).5 %", at: Double(-$0)) }
            + [try Self.entry("self", "no spare below max_load", at: -100)]
        let groups = DecisionGroup.fold(entries)
        #expect(groups.count == 2)
        #expect(groups.first?.count == 12)
        #expect(groups.first?.reason == "a2 is the least busy spare at 40.5 %")
        #expect(groups.first?.firstTime == Self.now.addingTimeInterval(-11))
        let html = StatusPage(health: try Self.health(own: 20, peers: []), decisions: try Self.decisions(entries)).html()
        #expect(html.contains("(×12 since 11:06:29 UTC)"))
        #expect(html.components(separatedBy: "<li><span class=\"when\">").count == 3)
    }

    /// Issue 25's probe: `"` then U+0301 is one `Character` but two code points,
    /// and a browser ends the attribute value at the `"`.
    static let probe = "\"\u{301} autofocus onfocus=alert(1) x="

    @Test("a quote followed by a combining mark is escaped in the search box's value (issue 25's probe)")
    func combiningQuote() throws {
        let query = PeerListing.Query(urlQuery: "q=%22%CC%81%20autofocus%20onfocus%3Dalert(1)%20x%3D")
        #expect(query.search == Self.probe)
        let html = Array(StatusPage(health: try Self.health(own: 20, peers: [try Self.peer("a2")]), decisions: try Self.decisions(), query: query).html().utf8)
        let escaped = Array(#"value="&quot;"#.utf8) + [0xCC, 0x81] + Array(" autofocus".utf8)
        let raw = Array(#"value="""#.utf8) + [0xCC, 0x81]
        #expect(html.firstRange(of: escaped) != nil)
        #expect(html.firstRange(of: raw) == nil)
    }

    @Test("seeded random texts in every field of the page add no tag and no attribute (the status-page fuzz target)")
    func fuzz() async {
        let seed = Fuzz.seed(0x5EED_0025)
        var generator = SeededGenerator(seed: seed)
        for iteration in 0..<Fuzz.iterations(default: 400) {
            if iteration % 10 == 0 { await Task.yield() }  // as in HTTPRouterTests.fuzz
            let input = FuzzTarget.statusPage.seededRandomInput(using: &generator)
            let broken = FuzzTarget.statusPage.run(input)
            guard broken.isEmpty else {
                Issue.record("seed \(seed) iteration \(iteration): \(broken.joined(separator: "; ")) for \(input)")
                return
            }
        }
    }
}

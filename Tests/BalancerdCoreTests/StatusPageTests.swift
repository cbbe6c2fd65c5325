import Foundation
import Lonc
import Testing
@testable import BalancerdCore  // the documents' memberwise initializers are internal

/// The server-rendered `/status` page from documents written here: what an
/// operator must be able to read in it, with scripts off.
@Suite("status page rendered on the server")
struct StatusPageTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18 11:06:40 UTC

    static func peer(_ id: String, state: LinkState = .up, load: Double? = 40, rtt: Double? = 0.42, eligible: Bool = true) -> HealthDocument.Peer {
        HealthDocument.Peer(
            id: id, domain: "msu", role: "access", hostname: "\(id).example.edu", spare: true, draining: false, drainReason: nil,
            drainSince: nil, eligible: eligible, slowStartShare: 1, excludedBecause: eligible ? nil : "link is \(state.rawValue)",
            link: HealthDocument.Link(
                state: state, since: now.addingTimeInterval(-300), attempts: state == .up ? 0 : 4, lastError: state == .up ? nil : "connection refused",
                rttMilliseconds: rtt, peerVersion: nil, tls: "TLSv1.3", tlsCipher: nil, requestsTotal: 10, failuresTotal: 0),
            load: HealthDocument.Load(
                loadPercent: load, userLoadPercent: load, effectivePercent: load, predictedPercent: load, sampledAt: load == nil ? nil : now,
                ageSeconds: load == nil ? nil : 0.2, stale: load == nil),
            delayed: 0, history: [])
    }

    static func health(own: Double?, peers: [HealthDocument.Peer]) -> HealthDocument {
        HealthDocument(
            host: "s1", version: "0.1.0", status: .ok, generatedAt: now, uptimeSeconds: 3600, startedAt: now.addingTimeInterval(-3600),
            own: HealthDocument.OwnLoad(loadPercent: own, userLoadPercent: 10, effectivePercent: own, predictedPercent: own, history: []),
            balancer: HealthDocument.BalancerSummary(
                mode: "overflow", target: "a2", reason: "a2 is the least busy spare", redirectsTotal: 7, noTargetTotal: 0,
                maxLoadPercent: 100, readmitLoadPercent: 85),
            peers: peers)
    }

    static func decisions(_ entries: [DecisionsDocument.Entry] = []) -> DecisionsDocument {
        DecisionsDocument(host: "s1", generatedAt: now, notRecordedTotal: 0, decisions: entries)
    }

    static func entry(_ target: String, _ reason: String, at offset: Double) -> DecisionsDocument.Entry {
        DecisionsDocument.Entry(
            time: now.addingTimeInterval(offset), firstTime: now.addingTimeInterval(offset), count: 1, target: target, reason: reason,
            ownLoadPercent: nil, candidates: [])
    }

    @Test("every peer is a table row with its link state, load, verdict and reason")
    func rows() {
        let html = StatusPage(health: Self.health(own: 20, peers: [Self.peer("a2"), Self.peer("a3", state: .backoff, load: nil, eligible: false)]),
                              decisions: Self.decisions()).html()
        #expect(html.contains(#"<tr data-peer-id="a2">"#))
        #expect(html.contains(#"<tr data-peer-id="a3">"#))
        #expect(html.contains(#"<span class="state up">up</span>"#))
        #expect(html.contains(#"<span class="eligible">eligible</span> · predicted 40.0 %"#))
        #expect(html.contains("excluded</span>: link is backoff"))
        #expect(html.contains("Next login goes to</h2>\n    <p class=\"target\">a2</p>"))
    }

    @Test("an unknown load reads 'unknown', never 0")
    func unknownIsNotZero() {
        let html = StatusPage(health: Self.health(own: nil, peers: [Self.peer("a3", state: .backoff, load: nil, eligible: false)]), decisions: Self.decisions()).html()
        #expect(html.contains(#"<span class="value muted">unknown</span>"#))
        #expect(!html.contains(#"<span class="value">0.0 %"#))
        #expect(html.contains("no sample yet"))
    }

    @Test("a link in backoff shows its failed attempts and error, not its last round trip")
    func backoffHidesRoundTrip() {
        let html = StatusPage(health: Self.health(own: 20, peers: [Self.peer("a3", state: .backoff, rtt: 12.34)]), decisions: Self.decisions()).html()
        #expect(!html.contains("12.34 ms"))
        #expect(html.contains("4 failed attempts"))
        #expect(html.contains(#"<div class="error">connection refused</div>"#))
        let up = StatusPage(health: Self.health(own: 20, peers: [Self.peer("a2", rtt: 12.34)]), decisions: Self.decisions()).html()
        #expect(up.contains("12.34 ms"))
    }

    @Test("the header says when this server is past max_load, though status is ok")
    func busyBadge() {
        let busy = StatusPage(health: Self.health(own: 138, peers: []), decisions: Self.decisions()).html()
        #expect(busy.contains(#"<span class="badge ok""#))
        #expect(busy.contains(#"<span class="badge busy">this server at 138.0 %, max_load 100.0 %</span>"#))
        let calm = StatusPage(health: Self.health(own: 99, peers: []), decisions: Self.decisions()).html()
        #expect(!calm.contains("badge busy"))
    }

    @Test("thresholds are drawn on the bars and named, times carry UTC")
    func thresholdsAndTimes() {
        let html = StatusPage(health: Self.health(own: 50, peers: [Self.peer("a2")]), decisions: Self.decisions()).html()
        // Scale 120: max_load 100 at 83.3 %, readmit_load 85 at 70.8 %.
        #expect(html.contains(#"<div class="mark max" style="left:83.3%" title="max_load 100.0 %">"#))
        #expect(html.contains(#"<div class="mark readmit" style="left:70.8%" title="readmit_load 85.0 %">"#))
        #expect(html.contains(#"<span class="mark-name max" data-name="max_load" style="left:83.3%"></span>"#))
        #expect(html.contains("red at or above max_load (100.0 %)"))
        #expect(html.contains("since 11:01:40 UTC (5 min ago)"))
    }

    @Test("slow start and a drain, with when it began, are in the verdict")
    func slowStartAndDrain() {
        var peer = Self.peer("a2")
        peer.slowStartShare = 0.25
        peer.draining = true
        peer.drainReason = "kernel update (jdoe)"
        peer.drainSince = Self.now.addingTimeInterval(-60)
        let html = StatusPage(health: Self.health(own: 20, peers: [peer]), decisions: Self.decisions()).html()
        #expect(html.contains("slow start: 25 % of its share"))
        #expect(html.contains(#"<span class="drain">drained since 11:05:40 UTC</span>: kernel update (jdoe)"#))
    }

    @Test("text from the config and peers is escaped")
    func escaping() {
        var peer = Self.peer("a2")
        peer.hostname = #"<script>alert("x")</script>"#
        let html = StatusPage(health: Self.health(own: 20, peers: [peer]), decisions: Self.decisions()).html()
        #expect(!html.contains("<script>alert"))
        #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"))
    }

    @Test("decisions that differ only in figures fold into one line with a count")
    func foldedDecisions() {
        let entries = (0..<12).map { Self.entry("a2", "a2 is the least busy spare at \(40 + $0).5 %", at: Double(-$0)) }
            + [Self.entry("self", "no spare below max_load", at: -100)]
        let groups = DecisionGroup.fold(entries)
        #expect(groups.count == 2)
        #expect(groups.first?.count == 12)
        #expect(groups.first?.reason == "a2 is the least busy spare at 40.5 %")
        #expect(groups.first?.firstTime == Self.now.addingTimeInterval(-11))
        let html = StatusPage(health: Self.health(own: 20, peers: []), decisions: Self.decisions(entries)).html()
        #expect(html.contains("(×12 since 11:06:29 UTC)"))
        #expect(html.components(separatedBy: "<li><span class=\"when\">").count == 3)
    }
}

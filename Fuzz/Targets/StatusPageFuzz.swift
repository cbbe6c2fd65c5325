import BalancerdCore
import Foundation
import Lonc

/// `/status` rendered from inputs a peer, an operator or a browser controls:
/// this server's name, the search `q`, the balancer's target and reason, two
/// peers' id, hostname, domain, role, last link error, TLS text, exclusion
/// and drain texts, and a decision's target and reason.
///
/// Input: a flags byte (peer links up or not, draining, eligible), then the
/// texts in that order, separated by 0 bytes (missing ones are empty). Flag
/// bits, three a peer: link not up, not eligible, draining; bit 6: one row a page.
///
/// The invariant: the page parsed as a browser tokenizes it (`HTMLSkeleton`)
/// has exactly the tags and attribute names of the same page rendered with
/// every text replaced by a plain `x`. An input that ends an attribute value,
/// opens a tag or adds an attribute changes that skeleton.
public enum StatusPageFuzz {
    /// The texts an input sets, in input order.
    struct Texts {
        var host = "", search = "", target = "", reason = ""
        var peers: [[String]] = []  // id, hostname, domain, role, lastError, tls, excludedBecause, drainReason, drainedBy, drainOrigin
        var decisionTarget = "", decisionReason = ""

        static let peerFields = 10

        init(_ input: inout FuzzInput) {
            func text() -> String { String(decoding: input.bytes(upTo: 0), as: UTF8.self) }
            (host, search, target, reason) = (text(), text(), text(), text())
            peers = (0..<2).map { _ in (0..<Self.peerFields).map { _ in text() } }
            (decisionTarget, decisionReason) = (text(), text())
        }

        /// Every text replaced by `x` (empty stays empty; `self` and `none` keep their meaning as a target).
        var plain: Texts {
            func x(_ text: String) -> String { text.isEmpty ? "" : "x" }
            var copy = self
            (copy.host, copy.search, copy.reason) = (x(host), x(search), x(reason))
            copy.target = ["self", "none"].contains(target) ? target : x(target)
            copy.peers = peers.map { $0.map(x) }
            (copy.decisionTarget, copy.decisionReason) = (x(decisionTarget), x(decisionReason))
            return copy
        }
    }

    static func run(_ bytes: [UInt8]) -> [String] {
        var input = FuzzInput(bytes)
        let flags = input.byte()
        let texts = Texts(&input)
        do {
            // The listing (which peers match `q`, how many pages) is the fuzzed one in both renderings.
            let fuzzed = try page(texts, flags: flags, listingFrom: nil)
            let plain = try page(texts.plain, flags: flags, listingFrom: fuzzed.listing)
            let (got, wanted) = (HTMLSkeleton.of(fuzzed.html()), HTMLSkeleton.of(plain.html()))
            guard got != wanted else { return [] }
            let first = zip(got, wanted).first { $0 != $1 }.map { "\($0.0) where the page has \($0.1)" }
                ?? "\(got.count) tokens where the page has \(wanted.count)"
            return ["an input changed the page's tags or attributes: \(first)"]
        } catch {
            return ["the template documents do not decode: \(error)"]
        }
    }

    /// The page for `texts`; with `listingFrom`, the same peers on the same page as that listing.
    static func page(_ texts: Texts, flags: UInt8, listingFrom other: PeerListing?) throws -> StatusPage {
        guard var health = template, var decisions = decisionsTemplate else { throw TemplateError() }
        health.host = texts.host
        health.balancer.target = texts.target
        health.balancer.reason = texts.reason
        health.peers = texts.peers.enumerated().map { index, fields in
            var peer = health.peers[0]
            (peer.id, peer.hostname, peer.domain, peer.role) = (fields[0], fields[1], fields[2], fields[3])
            let bits = flags >> UInt8(index * 3)
            peer.link.requestsTotal = index
            peer.link.state = bits & 1 == 0 ? .up : .backoff
            peer.link.lastError = fields[4]
            peer.link.tls = fields[5]
            peer.eligible = bits & 2 == 0
            peer.excludedBecause = peer.eligible ? nil : fields[6]
            peer.draining = bits & 4 != 0
            (peer.drainReason, peer.drainedBy, peer.drainOrigin) = (fields[7], fields[8], fields[9])
            return peer
        }
        decisions.decisions[0].target = texts.decisionTarget
        decisions.decisions[0].reason = texts.decisionReason
        // One row a page (a pager whose links carry `q`) or all rows on one.
        let query = PeerListing.Query(search: texts.search, pageSize: flags & 0x40 == 0 ? 100 : 1)
        var listing = PeerListing(health.peers, query: query)
        if let other {
            // The same rows in the same order (`requestsTotal`, never shown, numbers them), with this rendering's texts.
            listing = other
            listing.peers = other.peers.map { health.peers[$0.link.requestsTotal] }
        }
        return StatusPage(health: health, decisions: decisions, listing: listing, query: query)
    }

    struct TemplateError: Error {}

    static let template: HealthDocument? = {
        try? HealthDocument(json: Data(#"""
                {"host": "s1", "version": "0.1.0", "status": "degraded", "generated_at": "2026-11-18T11:06:40Z", "uptime_s": 3600,
                 "started_at": "2026-11-18T10:06:40Z",
                 "self": {"load_percent": 20, "userload_percent": 10, "effective_percent": 20, "predicted_percent": 20, "history": []},
                 "balancer": {"mode": "overflow", "target": "a2", "reason": "r", "backup": false, "redirects_total": 7,
                              "backup_redirects_total": 0, "no_target_total": 0, "max_load_percent": 100, "readmit_load_percent": 85},
                 "peers": [{"id": "a2", "domain": "msu", "role": "access", "hostname": "a2.example.edu", "spare": true, "backup": false,
                   "draining": false, "drain_reason": null, "drain_since": "2026-11-18T11:00:00Z", "drained_by": null, "drain_origin": null,
                   "eligible": true, "slow_start_share": 1, "excluded_because": null,
                   "link": {"state": "up", "since": "2026-11-18T11:01:40Z", "attempts": 4, "last_error": null, "rtt_ms": 0.42,
                            "peer_version": null, "tls": null, "tls_cipher": null, "requests_total": 10, "failures_total": 0},
                   "load": {"load_percent": 40, "userload_percent": 40, "effective_percent": 40, "predicted_percent": 40,
                            "sampled_at": "2026-11-18T11:06:40Z", "age_s": 0.2, "stale": false},
                   "delayed": 1, "history": [[1795000000, 40], [1795000002, 41]]}]}
                """#.utf8))
    }()

    static let decisionsTemplate: DecisionsDocument? = {
        try? DecisionsDocument(json: Data(#"""
                {"host": "s1", "generated_at": "2026-11-18T11:06:40Z", "not_recorded_total": 0,
                 "decisions": [{"time": "2026-11-18T11:06:39Z", "first_time": "2026-11-18T11:06:39Z", "count": 1, "target": "a2",
                   "backup": false, "returning": false, "reason": "r", "own_load_percent": null, "candidates": []}]}
                """#.utf8))
    }()
}

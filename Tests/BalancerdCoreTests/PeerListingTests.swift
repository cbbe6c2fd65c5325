import Foundation
import Lonc
import Testing
import BalancerdCore

/// What an operator sees first among thousands of peers, as plain values.
@Suite("peer listing: problems first, search, pages")
struct PeerListingTests {
    static func peers() throws -> [HealthDocument.Peer] {
        var peers = try (1...250).map { try StatusPageTests.peer("p\($0)") }
        peers[9] = try StatusPageTests.peer("p10", state: .backoff, load: nil, eligible: false)
        peers[199] = try StatusPageTests.peer("p200", state: .givenUp, load: nil, eligible: false)
        peers[49].draining = true
        peers[79].delayed = 3
        return peers
    }

    @Test("problem peers come first, in hosts-table order, then the rest in hosts-table order")
    func problemsFirst() throws {
        let listing = PeerListing(try Self.peers(), query: PeerListing.Query(pageSize: 6))
        #expect(listing.peers.map(\.id) == ["p10", "p50", "p80", "p200", "p1", "p2"])
        #expect(listing.problems == 4)
        #expect(listing.matching == 250)
        #expect(listing.pages == 42)
        #expect(listing.linkStates == ["up": 248, "backoff": 1, "given_up": 1])
    }

    @Test("pages cut the ordered list; a page past the end shows the last")
    func paging() throws {
        let peers = try Self.peers()
        let second = PeerListing(peers, query: PeerListing.Query(page: 2, pageSize: 100))
        #expect(second.peers.count == 100)
        #expect(second.peers.first?.id == "p100", "4 problem peers and 96 others fill page 1, up to p99 (p10, p50, p80 went first)")
        let beyond = PeerListing(peers, query: PeerListing.Query(page: 99, pageSize: 100))
        #expect(beyond.page == 3)
        #expect(beyond.peers.count == 50)
        #expect(beyond.peers.last?.id == "p250")
    }

    @Test("a search keeps peers whose id, hostname or link state contains it, any case")
    func search() throws {
        let peers = try Self.peers()
        #expect(PeerListing(peers, query: PeerListing.Query(search: "P20")).peers.map(\.id) == ["p200", "p20"] + (201...209).map { "p\($0)" })
        #expect(PeerListing(peers, query: PeerListing.Query(search: "given")).peers.map(\.id) == ["p200"])
        let none = PeerListing(peers, query: PeerListing.Query(search: "nothing-like-this"))
        #expect(none.peers.isEmpty && none.pages == 1 && none.linkStates["up"] == 248)
    }

    @Test("the URL query: q (form-encoded) and page; anything else is ignored")
    func urlQuery() {
        #expect(PeerListing.Query(urlQuery: "q=given+up&page=3&x=1") == PeerListing.Query(search: "given up", page: 3))
        #expect(PeerListing.Query(urlQuery: "q=a%2Fb") == PeerListing.Query(search: "a/b"))
        #expect(PeerListing.Query(urlQuery: "q=%zz&page=x") == PeerListing.Query(search: "%zz", page: 1))
        #expect(PeerListing.Query(urlQuery: nil) == PeerListing.Query())
        #expect(PeerListing.Query(urlQuery: "page=-4").page == 1)
    }

    @Test("the status page shows one page of rows, the counts, a search form and the pager")
    func page() throws {
        let peers = try Self.peers()
        let query = PeerListing.Query(search: "p1", page: 1, pageSize: 100)
        let html = StatusPage(health: try StatusPageTests.health(own: 20, peers: peers), decisions: try StatusPageTests.decisions(), query: query).html()
        #expect(html.components(separatedBy: "<tr data-peer-id=").count - 1 == 100)
        #expect(html.contains("248 up"))
        #expect(html.contains("name=\"q\" value=\"p1\""))
        #expect(html.contains("href=\"/status?q=p1&page=2\""))
        #expect(html.contains("page 1 of 2 (111 peers"))
    }
}

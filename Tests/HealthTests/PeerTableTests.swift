import Foundation
import Lonc
import Testing
@testable import Health

/// The poller's table as a value: what each event changes, and what an update carries.
@Suite("the poller's peer table")
struct PeerTableTests {
    static func up(_ id: String) -> LinkStatus { status(id, .up) }
    static func down(_ id: String) -> LinkStatus { status(id, .backoff) }
    /// A status with a fixed `since`, so the same state twice is the same status.
    static func status(_ id: String, _ state: LinkState) -> LinkStatus {
        var status = LinkStatus(peerID: id, state: state)
        status.since = Date(timeIntervalSince1970: 0)
        return status
    }

    static func table(_ ids: [String]) -> PeerTable<String> {
        var table = PeerTable<String>()
        _ = table.replace(with: ids.map { ($0, "link-\($0)", LinkStatus(peerID: $0, state: .connecting)) })
        return table
    }

    @Test("a new set of peers is an update that says 'read everything'; after it, nothing is pending")
    func replaceReshapes() {
        var table = Self.table(["a", "b"])
        #expect(table.hasChanges)
        let result1 = table.takeChanges()
        #expect(result1 == nil)
        #expect(!table.hasChanges)
        let result2 = table.takeChanges()
        #expect(result2 == [])
    }

    @Test("an update carries only the peers that changed, in hosts-table order, each once")
    func onlyChanged() {
        var table = Self.table(["a", "b", "c", "d"])
        _ = table.takeChanges()
        let result3 = table.noteLink(Self.up("c"), polling: true)
        #expect(result3)
        table.record("a", sample: LoadSample(loadPercent: 10, userLoadPercent: 5, sequence: 1), answered: true, historyLimit: 3)
        table.record("c", sample: LoadSample(loadPercent: 20, userLoadPercent: 5, sequence: 2), answered: true, historyLimit: 3)
        let changes = table.takeChanges()
        #expect(changes?.map(\.peer.id) == ["a", "c"])
        #expect(changes?.last?.peer.link.state == .up)
        #expect(changes?.last?.peer.latest?.loadPercent == 20)
        #expect(changes?.allSatisfy(\.superseded.isEmpty) == true, "one sample each: nothing superseded")
        #expect(table.peers.map(\.id) == ["a", "b", "c", "d"])
        let result4 = table.takeChanges()
        #expect(result4 == [])
    }

    @Test("the same status again is no change; a link that comes up is reported once")
    func sameStatusNoChange() {
        var table = Self.table(["a"])
        _ = table.takeChanges()
        let result5 = table.noteLink(Self.up("a"), polling: true)
        #expect(result5)
        let result6 = table.noteLink(Self.up("a"), polling: true)
        #expect(!result6)
        let result7 = table.takeChanges()
        #expect(result7?.count == 1)
        let result8 = table.noteLink(Self.up("a"), polling: true)
        #expect(!result8)
        let result9 = table.takeChanges()
        #expect(result9 == [])
        let result10 = table.noteLink(Self.down("a"), polling: true)
        #expect(!result10)
        let result11 = table.noteLink(Self.up("a"), polling: true)
        #expect(result11, "down and up again is coming up again")
    }

    @Test("a link that comes up before polling runs is kept for the first poll, once")
    func pollNowKept() {
        var table = Self.table(["a", "b"])
        let result12 = table.noteLink(Self.up("b"), polling: false)
        #expect(result12)
        let result13 = table.takePollNow()
        #expect(result13 == ["link-b"])
        let result14 = table.takePollNow()
        #expect(result14 == [])
    }

    @Test("unanswered polls count up and reset on an answer; no answer keeps the last sample")
    func unanswered() {
        var table = Self.table(["a"])
        table.record("a", sample: LoadSample(loadPercent: 10, userLoadPercent: 5, sequence: 1), answered: true, historyLimit: 3)
        table.record("a", sample: nil, answered: false, historyLimit: 3)
        table.record("a", sample: nil, answered: false, historyLimit: 3)
        #expect(table.peers[0].unansweredPolls == 2)
        #expect(table.peers[0].latest?.sequence == 1)
        _ = table.takeChanges()
        table.record("a", sample: nil, answered: true, historyLimit: 3)
        #expect(table.peers[0].unansweredPolls == 0)
        let result15 = table.takeChanges()
        #expect(result15?.count == 1)
        table.record("a", sample: nil, answered: true, historyLimit: 3)
        let result16 = table.takeChanges()
        #expect(result16 == [], "an answer without a number, with nothing to reset, changes nothing")
    }

    @Test("a reload keeps what it knew of peers that stay, and drops the rest")
    func reloadKeeps() {
        var table = Self.table(["a", "b"])
        table.record("a", sample: LoadSample(loadPercent: 10, userLoadPercent: 5, sequence: 1), answered: true, historyLimit: 3)
        let added = table.replace(with: [("c", "new-c", LinkStatus(peerID: "c")), ("a", "new-a", LinkStatus(peerID: "a"))])
        #expect(added == ["c"])
        #expect(table.peers.map(\.id) == ["c", "a"])
        #expect(table.peers[1].latest?.sequence == 1)
        #expect(table.link("a") == "new-a")
        #expect(table.link("b") == nil)
        #expect(table.history(of: "a").count == 1)
    }

    @Test("history keeps at most the limit, oldest first")
    func history() {
        var table = Self.table(["a"])
        for sequence in 1...5 {
            table.record("a", sample: LoadSample(loadPercent: 1, userLoadPercent: 1, sequence: UInt64(sequence)), answered: true, historyLimit: 3)
        }
        #expect(table.history(of: "a").map(\.sequence) == [3, 4, 5])
    }

    static func sample(_ load: Double, _ sequence: UInt64) -> LoadSample {
        LoadSample(loadPercent: load, userLoadPercent: 0, sequence: sequence)
    }

    @Test("a change carries every sample its latest replaced since the last update, oldest first, once")
    func supersededSamples() {
        var table = Self.table(["a", "b"])
        _ = table.takeChanges()
        table.record("a", sample: Self.sample(100, 1), answered: true, historyLimit: 3)
        table.record("b", sample: Self.sample(10, 2), answered: true, historyLimit: 3)
        table.record("a", sample: nil, answered: true, historyLimit: 3)
        table.record("a", sample: Self.sample(90, 3), answered: true, historyLimit: 3)
        let changes = table.takeChanges()
        #expect(changes?.map(\.peer.id) == ["a", "b"])
        #expect(changes?[0].peer.latest?.sequence == 3)
        #expect(changes?[0].superseded.map(\.sequence) == [1], "the 100 % the 90 % replaced")
        #expect(changes?[1].superseded == [])
        table.record("a", sample: Self.sample(40, 4), answered: true, historyLimit: 3)
        let next = table.takeChanges()
        #expect(next?.first?.superseded == [], "handed out once: the next update carries only what came after")
    }

    @Test("the samples superseded do not depend on the history kept for /status")
    func supersededBeyondHistory() {
        var table = Self.table(["a"])
        _ = table.takeChanges()
        for sequence in 1...4 { table.record("a", sample: Self.sample(Double(sequence), UInt64(sequence)), answered: true, historyLimit: 1) }
        #expect(table.history(of: "a").map(\.sequence) == [4])
        #expect(table.takeChanges()?.first?.superseded.map(\.sequence) == [1, 2, 3])
    }

    @Test("at most unpublishedLimit samples of one peer wait: the oldest are dropped")
    func supersededBounded() {
        var table = Self.table(["a"])
        _ = table.takeChanges()
        let limit = PeerTable<String>.unpublishedLimit
        for sequence in 1...(limit + 5) { table.record("a", sample: Self.sample(1, UInt64(sequence)), answered: true, historyLimit: 3) }
        let superseded = table.takeChanges()?.first?.superseded ?? []
        #expect(superseded.count == limit - 1)
        #expect(superseded.first?.sequence == 6)
    }

    @Test("after a start or reload's whole update, a peer's samples wait for its next change, then come with it")
    func supersededAfterReshape() {
        var table = Self.table(["a"])
        table.record("a", sample: Self.sample(100, 1), answered: true, historyLimit: 3)
        table.record("a", sample: Self.sample(90, 2), answered: true, historyLimit: 3)
        #expect(table.takeChanges() == nil, "read the snapshot: it shows the 90 % only")
        table.record("a", sample: nil, answered: false, historyLimit: 3)
        let changes = table.takeChanges()
        #expect(changes?.first?.peer.latest?.sequence == 2)
        #expect(changes?.first?.superseded.map(\.sequence) == [1], "the 100 % the snapshot could not show")
    }

    @Test("a snapshot taken from the table finds each peer by id")
    func snapshotLookup() {
        let table = Self.table(["a", "b", "c"])
        let snapshot = HealthSnapshot(generation: 1, own: nil, peers: table.peers, index: table.index)
        #expect(snapshot.peer("b")?.id == "b")
        #expect(snapshot.peer("z") == nil)
    }
}

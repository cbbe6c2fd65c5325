import Foundation
import Testing
import BalancerdCore

/// How two balancer instances' drains converge, whatever order changes arrive in.
@Suite("drain revisions: later changes win, late messages cannot undo them")
struct DrainBookTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("an undrain after a drain cannot be undone by the drain arriving late")
    func lateDrainIgnored() {
        var origin = DrainBook()
        let drain = origin.local(peer: "a3", draining: true, reason: "kernel", by: "alice", origin: "s1", now: now)
        let undrain = origin.local(peer: "a3", draining: false, reason: "", by: "alice", origin: "s1", now: now)
        #expect(undrain.revision > drain.revision)

        var other = DrainBook()
        let applied1 = other.merge(undrain)
        #expect(applied1)
        let applied2 = other.merge(drain)
        #expect(!applied2)
        #expect(other.drains["a3"] == nil)
        #expect(other == origin)
    }

    @Test("a drain received from an instance keeps its origin and operator; the same message twice changes nothing")
    func originKept() {
        var origin = DrainBook()
        let drain = origin.local(peer: "a3", draining: true, reason: "disk", by: "bob", origin: "s1", now: now)
        var other = DrainBook()
        let applied3 = other.merge(drain)
        #expect(applied3)
        let applied4 = other.merge(drain)
        #expect(!applied4)
        let kept = other.drains["a3"]
        #expect(kept?.reason == "disk")
        #expect(kept?.since == now)
        #expect(kept?.by == "bob")
        #expect(kept?.origin == "s1")
    }

    @Test("changes made at once on two instances settle the same on both (the higher origin id wins a tie)")
    func concurrentChangesConverge() {
        var first = DrainBook()
        var second = DrainBook()
        let fromFirst = first.local(peer: "a3", draining: true, reason: "first", by: nil, origin: "s1", now: now)
        let fromSecond = second.local(peer: "a3", draining: false, reason: "", by: nil, origin: "s2", now: now)
        _ = first.merge(fromSecond)
        _ = second.merge(fromFirst)
        #expect(first == second)
        #expect(first.drains["a3"] == nil)
        // The next change anywhere is later than both.
        let next = second.local(peer: "a3", draining: true, reason: "again", by: nil, origin: "s2", now: now)
        let applied5 = first.merge(next)
        #expect(applied5)
        #expect(first.drains["a3"]?.reason == "again")
    }

    @Test("the changes made at one instance, to send again: drains and undrains as they stand, none made elsewhere")
    func changesToResend() {
        var book = DrainBook()
        _ = book.local(peer: "a3", draining: true, reason: "kernel", by: "alice", origin: "s1", now: now)
        _ = book.local(peer: "a4", draining: true, reason: "disk", by: nil, origin: "s1", now: now)
        _ = book.local(peer: "a4", draining: false, reason: "", by: nil, origin: "s1", now: now)
        var other = DrainBook()
        let elsewhere = other.local(peer: "a5", draining: true, reason: "x", by: nil, origin: "s2", now: now)
        let applied = book.merge(elsewhere)
        #expect(applied)
        let resent = book.changes(origin: "s1")
        #expect(resent.map(\.peer) == ["a3", "a4"])
        #expect(resent.map(\.draining) == [true, false])
        for change in resent { _ = other.merge(change) }
        #expect(other.drains["a3"]?.reason == "kernel")
        #expect(other.drains["a4"] == nil)
        #expect(other.revisions["a4"] == book.revisions["a4"])
    }

    /// Found by review: `number + 1` trapped on a revision of Int.max, which a
    /// forged change could leave in drains.json for every later start.
    @Test("a local change after the largest revision, or after one out of range, counts no further and never overflows")
    func revisionsBounded() {
        for stored in [Int.max, DrainRevision.largestNumber, DrainRevision.largestNumber - 1, Int.min, -1] {
            var book = DrainBook(revisions: ["a3": DrainRevision(number: stored, origin: "s2")])
            let change = book.local(peer: "a3", draining: true, reason: "r", by: nil, origin: "s1", now: now)
            #expect(DrainRevision.validNumbers.contains(change.revision.number), "after \(stored)")
        }
        var book = DrainBook(
            drains: ["a3": .init(reason: "kept", since: now, by: nil, origin: "s2")],
            revisions: ["a3": DrainRevision(number: Int.max, origin: "s2"), "a4": DrainRevision(number: 7, origin: "s1"), "a5": DrainRevision(number: 0, origin: "s1")])
        #expect(book.dropInvalidRevisions() == ["a3": Int.max, "a5": 0])
        #expect(book.revisions.keys.sorted() == ["a4"])
        #expect(book.drains["a3"]?.reason == "kept", "the drain itself stays")
    }

    @Test("a change survives the wire; what is not one is nil")
    func wire() {
        var book = DrainBook()
        let change = book.local(peer: "a3", draining: true, reason: "line\nbreak: and colons", by: "alice", origin: "s1", now: now)
        #expect(!change.wireCommand.contains("\n"))
        #expect(DrainChange(wireCommand: change.wireCommand) == change)
        #expect(DrainChange(wireCommand: "drainsync:{") == nil)
        #expect(DrainChange(wireCommand: "load") == nil)
    }
}

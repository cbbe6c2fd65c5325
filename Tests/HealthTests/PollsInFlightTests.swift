import Health
import NIOCore
import Testing

/// The poll timeout sweep, on a fake clock: deadlines are plain values.
@Suite("polls in flight: the poller's timeout sweep")
struct PollsInFlightTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let timeout = TimeAmount.milliseconds(900)

    @Test("a poll answered in full finishes with its replies, and its deadline then finds nothing")
    func answered() {
        var polls = PollsInFlight()
        let token = polls.start("p1", lines: 2, deadline: start + timeout)
        #expect(polls.nextDeadline() == start + timeout)
        #expect(polls.answer(token, index: 1, reply: "12.00") == nil, "one of two replies is not the end")
        #expect(polls.answer(token, index: 0, reply: "37.50") == .init(peerID: "p1", replies: ["37.50", "12.00"]))
        #expect(polls.count == 0)
        #expect(polls.nextDeadline() == nil)
        #expect(polls.expire(now: start + .seconds(10)).isEmpty)
    }

    @Test("a poll not answered by its deadline finishes at the sweep with the replies that came, nil for the rest")
    func timedOut() {
        var polls = PollsInFlight()
        let token = polls.start("p1", lines: 2, deadline: start + timeout)
        _ = polls.answer(token, index: 0, reply: "37.50")
        #expect(polls.expire(now: start + timeout - .nanoseconds(1)).isEmpty, "not before its deadline")
        #expect(polls.expire(now: start + timeout) == [.init(peerID: "p1", replies: ["37.50", nil])])
        #expect(polls.count == 0)
        #expect(polls.answer(token, index: 1, reply: "12.00") == nil, "a late reply finishes nothing twice")
    }

    @Test("silence on every line gives all nil; the sweep finishes only what is due, oldest first")
    func sweepOrder() {
        var polls = PollsInFlight()
        _ = polls.start("late", lines: 2, deadline: start + .milliseconds(300))
        _ = polls.start("early", lines: 2, deadline: start + .milliseconds(100))
        _ = polls.start("later", lines: 2, deadline: start + .seconds(5))
        #expect(polls.nextDeadline() == start + .milliseconds(100))
        let expired = polls.expire(now: start + .milliseconds(300))
        #expect(expired.map(\.peerID) == ["early", "late"])
        #expect(expired.allSatisfy { $0.replies == [nil, nil] })
        #expect(polls.count == 1)
        #expect(polls.nextDeadline() == start + .seconds(5))
    }

    @Test("two polls of one peer in flight are apart; a repeated or out-of-range reply is ignored")
    func separatePolls() {
        var polls = PollsInFlight()
        let first = polls.start("p1", lines: 2, deadline: start + timeout)
        let second = polls.start("p1", lines: 2, deadline: start + timeout * 2)
        #expect(first != second)
        #expect(polls.answer(first, index: 0, reply: "1.00") == nil)
        #expect(polls.answer(first, index: 0, reply: "2.00") == nil, "a second reply to one line does not count")
        #expect(polls.answer(first, index: 2, reply: "3.00") == nil, "nor a line the poll does not have")
        #expect(polls.answer(second, index: 0, reply: "4.00") == nil)
        #expect(polls.answer(second, index: 1, reply: "5.00") == .init(peerID: "p1", replies: ["4.00", "5.00"]))
        #expect(polls.nextDeadline() == start + timeout, "the answered poll's deadline is dropped, the other stays")
        #expect(polls.expire(now: start + timeout) == [.init(peerID: "p1", replies: ["1.00", nil])])
    }
}

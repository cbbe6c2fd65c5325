import Health
import NIOCore
import Testing

@Suite("the poll queue: who is polled when")
struct PollQueueTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let second = TimeAmount.seconds(1)

    @Test("peers come due in time order and keep their phase one interval apart")
    func phase() {
        var queue = PollQueue()
        queue.schedule("b", at: start + .milliseconds(500))
        queue.schedule("a", at: start + .milliseconds(100))
        #expect(queue.nextDue() == start + .milliseconds(100))
        #expect(queue.takeDue(now: start, interval: second).isEmpty)
        #expect(queue.takeDue(now: start + .milliseconds(200), interval: second) == ["a"])
        #expect(queue.nextDue() == start + .milliseconds(500))
        #expect(queue.takeDue(now: start + .milliseconds(600), interval: second) == ["b"])
        // a's next poll is one interval after the one that was due (1.1 s), not after it was taken.
        #expect(queue.nextDue() == start + .milliseconds(1100))
    }

    @Test("a peer that fell behind is polled once, then one interval from now, not in a burst")
    func catchUp() {
        var queue = PollQueue()
        queue.schedule("a", at: start)
        let late = start + .seconds(5)
        #expect(queue.takeDue(now: late, interval: second) == ["a"])
        #expect(queue.takeDue(now: late, interval: second).isEmpty)
        #expect(queue.nextDue() == late + second)
    }

    @Test("a removed peer is never due again; a rescheduled one only at its new time")
    func removeAndReschedule() {
        var queue = PollQueue()
        queue.schedule("gone", at: start)
        queue.schedule("moved", at: start)
        queue.schedule("stays", at: start + .milliseconds(10))
        queue.remove("gone")
        queue.schedule("moved", at: start + .milliseconds(50))
        #expect(queue.nextDue() == start + .milliseconds(10))
        #expect(queue.takeDue(now: start + .milliseconds(20), interval: second) == ["stays"])
        #expect(queue.takeDue(now: start + .milliseconds(60), interval: second) == ["moved"])
        queue.remove("moved")
        queue.remove("stays")
        #expect(queue.nextDue() == nil)
    }

    @Test("1,000 peers spread over a second: each is due exactly once per interval")
    func everyPeerOncePerInterval() {
        var queue = PollQueue()
        for index in 0..<1000 { queue.schedule("p\(index)", at: start + .microseconds(Int64(index) * 1000)) }
        var counts: [String: Int] = [:]
        var now = start
        while now < start + .seconds(3) {
            for id in queue.takeDue(now: now, interval: second) { counts[id, default: 0] += 1 }
            now = now + .milliseconds(1)
        }
        #expect(counts.count == 1000)
        #expect(counts.values.allSatisfy { $0 == 3 })
    }
}

extension PollQueueTests {
    @Test("a shorter interval after a reload pulls every later poll in to the new deadline, and only those")
    func pullIn() {
        var queue = PollQueue()
        queue.schedule("soon", at: start + .milliseconds(100))
        queue.schedule("late", at: start + .seconds(30))
        queue.pullIn(to: start + .seconds(1))
        #expect(queue.takeDue(now: start + .milliseconds(100), interval: second) == ["soon"])
        #expect(queue.nextDue() == start + .seconds(1))
        #expect(queue.takeDue(now: start + .seconds(1), interval: second) == ["late"])
    }
}

import Lonc
import Testing

/// The pacer's bookkeeping as a value, and the pacer starting attempts in turn.
@Suite("the connection pacer")
struct ConnectionPacerTests {
    @Test("at most `limit` attempts hold a slot; the rest wait and start in order as slots are released")
    func queueOrder() {
        var queue = ConnectionPacer.Queue(limit: 2)
        let result1 = queue.request(1)
        #expect(result1)
        let result2 = queue.request(2)
        #expect(result2)
        let result3 = queue.request(3)
        #expect(!result3)
        let result4 = queue.request(4)
        #expect(!result4)
        #expect(queue.inFlight == 2)
        #expect(queue.waitingCount == 2)
        let result5 = queue.release()
        #expect(result5 == 3)
        let result6 = queue.release()
        #expect(result6 == 4)
        #expect(queue.inFlight == 2, "a handed-on slot stays taken")
        let result7 = queue.release()
        #expect(result7 == nil)
        let result8 = queue.release()
        #expect(result8 == nil)
        #expect(queue.inFlight == 0)
        let result9 = queue.release()
        #expect(result9 == nil)
        #expect(queue.inFlight == 0, "a release too many never goes below zero")
    }

    @Test("a limit below one is one")
    func minimumOne() {
        var queue = ConnectionPacer.Queue(limit: 0)
        #expect(queue.limit == 1)
        let result10 = queue.request(1)
        #expect(result10)
        let result11 = queue.request(2)
        #expect(!result11)
    }

    @Test("the pacer runs an admitted start at once, and a waiting one on release")
    func pacerRuns() {
        let pacer = ConnectionPacer(limit: 1)
        let started = Locked<[Int]>([])
        pacer.admit { started.withLock { $0.append(1) } }
        pacer.admit { started.withLock { $0.append(2) } }
        #expect(started.withLock { $0 } == [1])
        #expect(pacer.counts == (1, 1))
        pacer.release()
        #expect(started.withLock { $0 } == [1, 2])
        pacer.release()
        #expect(pacer.counts == (0, 0))
    }
}

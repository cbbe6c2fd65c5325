import Lonc
import NIOCore

/// Requests that give up waiting, for tests: a test must not hang on a reply
/// that never comes. Built on `request(_:eachReply:)` with one timer on the
/// link's event loop; giving up does not reset the link, and a late reply is
/// consumed by its own request, never matched to another.
extension PeerLink {
    /// One request's reply, or nil when none came within `timeout`.
    public func request(_ line: String, timeout: Duration) async -> String? {
        await request([line], timeout: timeout)[0]
    }

    /// `lines` pipelined; each reply, or nil for those not in within `timeout`.
    public func request(_ lines: [String], timeout: Duration) async -> [String?] {
        guard !lines.isEmpty else { return [] }
        let loop = eventLoop
        let answer = loop.makePromise(of: [String?].self)
        loop.execute {
            let replies = NIOLoopBoundBox([String?](repeating: nil, count: lines.count), eventLoop: loop)
            let pending = NIOLoopBoundBox(lines.count, eventLoop: loop)
            loop.scheduleTask(in: TimeAmount(timeout)) {
                guard pending.value > 0 else { return }
                pending.value = 0
                answer.succeed(replies.value)
            }
            self.request(lines) { index, reply in
                guard pending.value > 0 else { return }
                replies.value[index] = reply
                pending.value -= 1
                if pending.value == 0 { answer.succeed(replies.value) }
            }
        }
        return (try? await answer.futureResult.get()) ?? lines.map { _ in nil }
    }
}

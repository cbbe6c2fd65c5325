import NIOCore

/// Requests on a link: one line, one line with a timeout, or a batch with one
/// timer. Each is handed to the link's event loop and answered by
/// `RequestMatcher` in order; a link that is not up answers `con_lost` at once.
extension PeerLink {
    /// Sends one request line and returns the reply, or `con_lost`.
    public func request(_ line: String) async -> String {
        let reply = eventLoop.makePromise(of: String.self)
        eventLoop.execute { self.send(line, sink: .promise(reply)) }
        return (try? await reply.futureResult.get()) ?? WireReply.connectionLost
    }

    /// Sends one request line and returns the reply, or nil when none came within
    /// `timeout`. The timer runs on the link's event loop; the request keeps its
    /// place in line, so its late reply is consumed by it and never matched to
    /// another, and the link is not reset (it has its own `requestTimeout`).
    public func request(_ line: String, timeout: Duration) async -> String? {
        let reply = eventLoop.makePromise(of: String.self)
        let answer = eventLoop.makePromise(of: String?.self)
        eventLoop.execute {
            let gaveUp = NIOLoopBoundBox(false, eventLoop: self.eventLoop)
            let timer = self.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                gaveUp.value = true
                answer.succeed(nil)
            }
            reply.futureResult.whenComplete { result in
                timer.cancel()
                guard !gaveUp.value else { return }
                answer.succeed((try? result.get()) ?? WireReply.connectionLost)
            }
            self.send(line, sink: .promise(reply))
        }
        return (try? await answer.futureResult.get()) ?? nil
    }

    /// Sends `lines` pipelined with one timer on the link's event loop for all
    /// of them; replies not in by then are nil (and consumed by their own
    /// requests when they come, as with `request(_:timeout:)`).
    public func request(_ lines: [String], timeout: Duration) async -> [String?] {
        guard !lines.isEmpty else { return [] }
        let answer = eventLoop.makePromise(of: [String?].self)
        request(lines, timeout: timeout) { answer.succeed($0) }
        return (try? await answer.futureResult.get()) ?? lines.map { _ in nil }
    }

    /// `request(_:timeout:)` with a completion, called on the link's event
    /// loop; called from the loop itself, nothing hops threads.
    public func request(_ lines: [String], timeout: Duration, completion: @escaping @Sendable ([String?]) -> Void) {
        guard !lines.isEmpty else { return completion([]) }
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.request(lines, timeout: timeout, completion: completion) }
            return
        }
        let replies = NIOLoopBoundBox([String?](repeating: nil, count: lines.count), eventLoop: eventLoop)
        let pending = NIOLoopBoundBox(lines.count, eventLoop: eventLoop)
        // The timer is never cancelled: it fires and finds the batch answered.
        // NIO cancels a scheduled task by a linear search of its timer heap,
        // which at 10,000 polls a second in flight made each poll O(peers).
        eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            guard pending.value > 0 else { return }
            pending.value = -1
            completion(replies.value)
        }
        for (index, line) in lines.enumerated() {
            let reply = eventLoop.makePromise(of: String.self)
            reply.futureResult.whenComplete { result in
                guard pending.value > 0 else { return }
                replies.value[index] = (try? result.get()) ?? WireReply.connectionLost
                pending.value -= 1
                if pending.value == 0 { completion(replies.value) }
            }
            send(line, sink: .promise(reply))
        }
    }

    /// `PeerRequesting.request(_:eachReply:)`: no timer, no promise, each
    /// reply handed over on the link's event loop as it comes, the lines sent
    /// in one write; the poller's path.
    public func request(_ lines: [String], eachReply reply: @escaping @Sendable (_ index: Int, _ reply: String) -> Void) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.request(lines, eachReply: reply) }
            return
        }
        for (index, line) in lines.enumerated() {
            send(line, sink: .batch(index: index, deliver: reply), flush: .byCaller)
        }
        requests?.flush()
    }
}

import NIOCore

/// Requests on a link: one line awaited, or a batch whose replies are handed
/// over one by one. Each is handed to the link's event loop and answered by
/// `RequestMatcher` in order; a link that is not up answers `con_lost` at once.
extension PeerLink {
    /// Sends one request line and returns the reply, or `con_lost`.
    public func request(_ line: String) async -> String {
        let reply = eventLoop.makePromise(of: String.self)
        eventLoop.execute { self.send(line, sink: .promise(reply)) }
        return (try? await reply.futureResult.get()) ?? WireReply.connectionLost
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

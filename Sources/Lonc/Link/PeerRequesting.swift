/// Something that sends one request line to a peer and returns its reply line.
///
/// `PeerLink` is the real one; the poller and the relay depend only on this, so
/// they can be tested against a scripted peer. A request on a link that is not
/// up, or whose link drops before the reply, returns `con_lost`.
public protocol PeerRequesting: Sendable {
    /// The peer's id in the hosts table.
    var peerID: String { get }
    /// Sends `line` (without its LF) and returns the reply (without its LF), or `con_lost`.
    func request(_ line: String) async -> String
    /// Like `request(_:)`, but gives up waiting after `timeout` and returns nil.
    /// Giving up does not reset the link: the request keeps its place, and its
    /// late reply is consumed by it.
    func request(_ line: String, timeout: Duration) async -> String?
    /// Sends `lines` pipelined and waits up to `timeout` for all their replies,
    /// in order; a reply that did not come in time is nil. One timer for the
    /// batch (a poll's `load` and `userload`), not one per line.
    func request(_ lines: [String], timeout: Duration) async -> [String?]
    /// Like `request(_:timeout:)`, but calls `completion` with the replies
    /// instead of suspending: `PeerLink` does it all on its event loop, with
    /// no task and no thread hop (the poller's path, 10,000 times a second).
    func request(_ lines: [String], timeout: Duration, completion: @escaping @Sendable ([String?]) -> Void)
    /// Sends `lines` pipelined and calls `reply` with each line's index and
    /// reply as it comes (`con_lost` when the link is down or drops), with no
    /// timer at all: the caller gives up on its own clock (the poller sweeps
    /// its polls in flight on its tick) and ignores what comes after.
    /// `PeerLink` calls `reply` on its event loop.
    func request(_ lines: [String], eachReply reply: @escaping @Sendable (_ index: Int, _ reply: String) -> Void)
    /// The link's current status.
    var status: LinkStatus { get }
}

extension PeerRequesting {
    /// Races `request(_:)` against a sleep in a task group, for peers without an
    /// event loop of their own (test doubles). The loser is cancelled and awaited,
    /// so a `request(_:)` that ignores cancellation delays the answer: `PeerLink`
    /// times out on its event loop instead.
    public func request(_ line: String, timeout: Duration) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask { await self.request(line) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// The async form in a task, for peers without an event loop (test doubles).
    public func request(_ lines: [String], timeout: Duration, completion: @escaping @Sendable ([String?]) -> Void) {
        Task { completion(await request(lines, timeout: timeout)) }
    }

    /// Each line through `request(_:)` in a task of its own, for peers without an event loop (test doubles).
    public func request(_ lines: [String], eachReply reply: @escaping @Sendable (_ index: Int, _ reply: String) -> Void) {
        for (index, line) in lines.enumerated() {
            Task { reply(index, await request(line)) }
        }
    }

    /// Each line through `request(_:timeout:)`, concurrently.
    public func request(_ lines: [String], timeout: Duration) async -> [String?] {
        await withTaskGroup(of: (Int, String?).self) { group in
            for (index, line) in lines.enumerated() {
                group.addTask { (index, await self.request(line, timeout: timeout)) }
            }
            var replies = [String?](repeating: nil, count: lines.count)
            for await (index, reply) in group { replies[index] = reply }
            return replies
        }
    }
}

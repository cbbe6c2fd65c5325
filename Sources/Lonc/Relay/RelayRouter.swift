import Logging

/// What the relay does with each line a local client sends for a peer:
/// plain lines go to the peer's link; `critical:<cmd>` lines are delivered
/// durably through the `DelayedQueue`; on every link-up the peer's delayed
/// messages are replayed in order before new critical ones.
public final class RelayRouter: Sendable {
    private let queue: DelayedQueue
    private let logger: Logger
    private let links = Locked<[String: any PeerRequesting]>([:])
    private let lanes = Locked<[String: AsyncLock]>([:])
    private let depthChanged: @Sendable (String, Int) -> Void

    /// `depthChanged` is told each peer's queue depth after every change (for the link status).
    public init(queue: DelayedQueue, logger: Logger, depthChanged: @escaping @Sendable (String, Int) -> Void = { _, _ in }) {
        self.queue = queue
        self.logger = logger
        self.depthChanged = depthChanged
    }

    /// Sets the peers (start, reload).
    public func setLinks(_ peers: [any PeerRequesting]) {
        links.withLock { links in
            links = Dictionary(peers.map { ($0.peerID, $0) }, uniquingKeysWith: { a, _ in a })
        }
        for peer in peers { depthChanged(peer.peerID, queue.depth(peer: peer.peerID)) }
    }

    /// The reply for one client line.
    public func handle(peer: String, line: String) async -> String {
        guard let link = links.withLock({ $0[peer] }) else { return WireReply.connectionLost }
        guard line.hasPrefix(WireProtocol.criticalPrefix) else { return await link.request(line) }
        let command = String(line.dropFirst(WireProtocol.criticalPrefix.count))
        return await lane(peer).withLock {
            // Messages already waiting go first: never overtake them.
            if queue.depth(peer: peer) == 0 {
                let reply = await link.request(command)
                if reply != WireReply.connectionLost { return reply }
            }
            return store(peer: peer, command: command)
        }
    }

    /// Sends `peer`'s delayed messages in order, each removed after the peer's reply;
    /// stops at the first `con_lost` (the next link-up resumes).
    public func replay(peer: String) async {
        guard let link = links.withLock({ $0[peer] }) else { return }
        await lane(peer).withLock {
            var sent = 0
            for entry in queue.pending(peer: peer) {
                guard let line = queue.line(of: entry) else { continue }
                let reply = await link.request(line)
                if reply == WireReply.connectionLost { break }
                queue.remove(entry)
                sent += 1
            }
            if sent > 0 { logger.info("replayed \(sent) delayed message\(sent == 1 ? "" : "s")", metadata: ["peer": "\(peer)"]) }
            depthChanged(peer, queue.depth(peer: peer))
        }
    }

    /// Replays every peer whose link is up and whose queue is not empty (picks up
    /// files other tools dropped in). Call it periodically.
    public func replayWaiting() async {
        let peers = links.withLock { Array($0.values) }
        for link in peers where link.status.state == .up && queue.depth(peer: link.peerID) > 0 {
            await replay(peer: link.peerID)
        }
    }

    private func store(peer: String, command: String) -> String {
        do {
            try queue.store(peer: peer, line: command)
            depthChanged(peer, queue.depth(peer: peer))
            return WireReply.delayed
        } catch {
            logger.error("critical message for \(peer) lost to the caller: \(error)", metadata: ["peer": "\(peer)"])
            return WireReply.failed
        }
    }

    private func lane(_ peer: String) -> AsyncLock {
        lanes.withLock { lanes in
            if let lane = lanes[peer] { return lane }
            let lane = AsyncLock()
            lanes[peer] = lane
            return lane
        }
    }
}

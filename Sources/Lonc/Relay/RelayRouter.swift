import Foundation
import Logging

/// What the relay does with each line a local client sends for a peer:
/// plain lines go to the peer's link; `critical:<cmd>` lines are stored in the
/// `DelayedQueue` first and then sent, oldest first, as
/// `critical:<file name>:<cmd>` (`CriticalMessage`), so a re-send after a
/// crash carries the same id. Each peer's reply decides the file's fate
/// (`DeliveryVerdict`): removed when delivered, moved to `delayed/rejected/`
/// when refused, kept first in line after `con_lost` and tried again after a
/// backoff (`ReplayBackoff`). A peer's waiting messages go out when its link
/// comes up (`linkChanged`: the backoff starts afresh), when a new message
/// for it arrives, or at the next `replayWaiting`, the last two only once its
/// backoff is due: a steady stream of messages to a peer that answers
/// `con_lost` finds the backoff growing, not reset.
///
/// A line comes from a local client of a relay socket (`Sender.localClient`)
/// or from the daemon itself (`.daemon`: drains for the other instances).
/// A local client may not send the daemon's own words (`WireProtocol.reservedWord(in:)`):
/// they are answered `error:reserved_command`, with a log line, and go nowhere.
/// A critical line that would not fit under `links.max_line` on the wire, with
/// its id and a request-id tag, is answered `error:line_too_long` and not stored.
public final class RelayRouter: LinkListener {
    /// Who wrote a line.
    public enum Sender: Sendable {
        /// A program writing to `<socket_dir>/<peer>` (group `socket_group`).
        case localClient
        /// balancerd itself.
        case daemon
    }

    /// The answer to a local client's line holding a word only the daemon may send.
    public static let reservedCommand = "error:reserved_command"

    /// The delayed folder behind it.
    public let queue: DelayedQueue
    private let maxLine: Int
    private let logger: Logger
    private let links = Locked<[String: any PeerRequesting]>([:])
    private let lanes = Locked<[String: AsyncLock]>([:])
    private let backoffs = Locked<[String: ReplayBackoff]>([:])
    private let rejectedCounts = Locked<[String: Int]>([:])
    private let now: @Sendable () -> Double

    /// `maxLine` is `links.max_line`; `now` is a monotonic clock in seconds (for the backoff).
    public init(queue: DelayedQueue, maxLine: Int, logger: Logger, now: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        self.queue = queue
        self.maxLine = maxLine
        self.logger = logger
        self.now = now
    }

    /// Sets the peers (start, reload).
    public func setLinks(_ peers: [any PeerRequesting]) {
        links.withLock { links in
            links = Dictionary(peers.map { ($0.peerID, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// A link that comes up gets its peer's waiting messages, oldest first, with the backoff afresh.
    public func linkChanged(_ change: LinkChange) {
        guard change.cameUp else { return }
        Task { await replay(peer: change.status.peerID) }
    }

    /// How many messages wait for `peer` (the one count of them: the queue's).
    public func waiting(peer: String) -> Int { queue.depth(peer: peer) }

    /// `peer`'s backoff after `con_lost`: failures in a row so far (0: none waiting out a backoff).
    package func backoffFailures(peer: String) -> Int { backoffs.withLock { $0[peer]?.failures ?? 0 } }

    /// Critical messages the peers refused since start, by peer (`balancerd_relay_rejected_total`).
    public var rejectedSinceStart: [String: Int] { rejectedCounts.withLock { $0 } }

    /// The reply for one line for `peer`. A critical message gets the peer's reply
    /// when it was sent at once (delivered or rejected), `con_delayed` when it
    /// waits on disk, `con_failed` when it could not be stored.
    public func handle(peer: String, line: String, from sender: Sender) async -> String {
        if sender == .localClient, let word = WireProtocol.reservedWord(in: line) {
            logger.warning(
                "relay client line refused: it holds a word only balancerd itself sends",
                metadata: ["peer": "\(peer)", "word": "\(word)", "critical": "\(line.hasPrefix(WireProtocol.criticalPrefix))"])
            return Self.reservedCommand
        }
        guard let link = links.withLock({ $0[peer] }) else { return WireReply.connectionLost }
        guard line.hasPrefix(WireProtocol.criticalPrefix) else { return await link.request(line) }
        let command = String(line.dropFirst(WireProtocol.criticalPrefix.count))
        // Refused now rather than stored, sent, refused by the link and moved to rejected/.
        guard CriticalMessage.lineLength(peer: peer, command: command) + WireRequestID.longestPrefix <= maxLine else {
            return WireProtocol.lineTooLong
        }
        return await lane(peer).withLock {
            let entry: DelayedQueue.Entry
            do {
                entry = try queue.store(peer: peer, line: command)
            } catch {
                logger.error("critical message not stored: lost to the caller", metadata: ["peer": "\(peer)", "error": "\(error)"])
                return WireReply.failed
            }
            // Link down or backing off: it waits on disk for link-up or the next due try.
            guard link.status.state == .up, backoffs.withLock({ $0[peer] ?? ReplayBackoff() }).isDue(at: now()) else {
                return WireReply.delayed
            }
            return await sendWaiting(peer: peer, link: link, until: entry) ?? WireReply.delayed
        }
    }

    /// Sends `peer`'s delayed messages in order, the backoff started afresh (its
    /// link came up); stops at the first `con_lost`, which starts the backoff.
    public func replay(peer: String) async {
        guard let link = links.withLock({ $0[peer] }) else { return }
        backoffs.withLock { $0[peer] = nil }
        await lane(peer).withLock { _ = await sendWaiting(peer: peer, link: link, until: nil) }
    }

    /// Replays every peer whose link is up, whose queue is not empty and whose
    /// backoff is due. When the folder changed since the last scan (files other
    /// tools dropped in), it is scanned first, and `bad/` and `rejected/` are
    /// counted again when they changed. Call it about twice a second.
    public func replayWaiting() async {
        if queue.folderChanged() { _ = queue.pending() }
        queue.recountSetAside()
        let peers = links.withLock { Array($0.values) }
        let time = now()
        for link in peers where link.status.state == .up && queue.depth(peer: link.peerID) > 0 {
            guard backoffs.withLock({ $0[link.peerID] ?? ReplayBackoff() }).isDue(at: time) else { continue }
            await lane(link.peerID).withLock { _ = await sendWaiting(peer: link.peerID, link: link, until: nil) }
        }
    }

    /// Sends the waiting messages oldest first until one is not answered; returns
    /// the reply to `target` when it was sent. Call with the peer's lane held.
    private func sendWaiting(peer: String, link: any PeerRequesting, until target: DelayedQueue.Entry?) async -> String? {
        var sent = 0
        var targetReply: String?
        defer {
            if sent > 1 || (sent == 1 && target == nil) {
                logger.info("delayed messages sent", metadata: ["peer": "\(peer)", "count": "\(sent)"])
            }
        }
        for entry in queue.pending(peer: peer) {
            guard let command = queue.line(of: entry) else { continue }
            let reply = await link.request(CriticalMessage(fileName: entry.name, command: command).line)
            switch DeliveryVerdict(reply: reply) {
            case .notSent:
                let failures = backoffs.withLock { backoffs -> Int in
                    backoffs[peer, default: ReplayBackoff()].lost(at: now())
                    return backoffs[peer]?.failures ?? 0
                }
                if failures == 1 { logger.notice("delayed messages wait: the peer answered con_lost; retrying after a backoff", metadata: ["peer": "\(peer)", "first": "\(entry.name)"]) }
                return targetReply
            case .delivered:
                queue.remove(entry)
            case .rejected:
                queue.reject(entry, reply: reply)
                rejectedCounts.withLock { $0[peer, default: 0] += 1 }
                logger.error(
                    "critical message rejected by the peer; kept in delayed/rejected/",
                    metadata: ["peer": "\(peer)", "reply": "\(reply)", "file": "\(queue.rejectedDirectory)/\(entry.name)"])
            }
            backoffs.withLock { $0[peer] = nil }
            sent += 1
            if entry.name == target?.name {
                targetReply = reply
                break
            }
        }
        return targetReply
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

/// Something that sends request lines to a peer and hands back its replies.
///
/// `PeerLink` is the real one; the poller and the relay depend only on this, so
/// they can be tested against a scripted peer. A request on a link that is not
/// up, or whose link drops before the reply, gets `con_lost`.
public protocol PeerRequesting: Sendable {
    /// The peer's id in the hosts table.
    var peerID: String { get }
    /// Sends `line` (without its LF) and returns the reply (without its LF), or `con_lost`:
    /// the relay's path.
    func request(_ line: String) async -> String
    /// Sends `lines` pipelined and calls `reply` with each line's index and
    /// reply as it comes (`con_lost` when the link is down or drops), with no
    /// timer at all: the caller gives up on its own clock (the poller sweeps
    /// its polls in flight on its tick) and ignores what comes after.
    /// `PeerLink` calls `reply` on its event loop: the poller's path.
    func request(_ lines: [String], eachReply reply: @escaping @Sendable (_ index: Int, _ reply: String) -> Void)
    /// The link's current status.
    var status: LinkStatus { get }
}

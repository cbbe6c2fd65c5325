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
    /// The link's current status.
    var status: LinkStatus { get }
}

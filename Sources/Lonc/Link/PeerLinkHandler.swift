import NIOCore

/// The top of a peer link's pipeline: turns what the channel reports into the
/// link's state-machine events, tagged with the connection they came from so
/// events of an old connection are never taken for the current one.
///
///     TransportEstablished     ─▶ transportEstablished   (TLS version, cipher)
///     LinkHandshakeCompleted   ─▶ handshakeCompleted     (the link is up)
///     LinkFailure / any error  ─▶ failed                 (timeout, stray line, TLS, line too long)
///     channelInactive          ─▶ failed(.closedByPeer)
final class PeerLinkHandler: ChannelInboundHandler {
    typealias InboundIn = Never

    private let link: PeerLink
    private let connection: Int

    init(link: PeerLink, connection: Int) {
        self.link = link
        self.connection = connection
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let established = event as? TransportEstablished {
            link.transportEstablished(established, connection: connection)
        } else if let completed = event as? LinkHandshakeCompleted {
            link.handshakeCompleted(peerVersion: completed.peerVersion, requestIDs: completed.requestIDs, connection: connection)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.failed(.closedByPeer, connection: connection)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure: LinkFailure =
            switch error {
            case let failure as LinkFailure: failure
            case let handshake as HandshakeError: .handshake(handshake)
            default: .transport("\(error)")
            }
        link.failed(failure, connection: connection)
        context.close(promise: nil)
    }
}

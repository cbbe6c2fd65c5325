import NIOCore

/// The top of a peer link's pipeline: hands lines, the transport event, errors
/// and the close to the `PeerLink`, tagged with the connection they came from
/// so events of an old connection are never taken for the current one.
final class PeerLinkHandler: ChannelInboundHandler {
    typealias InboundIn = String

    private let link: PeerLink
    private let connection: Int

    init(link: PeerLink, connection: Int) {
        self.link = link
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        link.received(unwrapInboundIn(data), connection: connection)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let established = event as? TransportEstablished {
            link.transportEstablished(established, connection: connection)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.connectionEnded("the peer closed the connection", connection: connection)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        link.connectionEnded("\(error)", connection: connection)
        context.close(promise: nil)
    }
}

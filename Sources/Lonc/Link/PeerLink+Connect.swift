import Foundation
import NIOCore
import NIOPosix

extension PeerLink {
    /// Dials connection `connection` and builds its pipeline; the outcome goes
    /// to the state machine (`connected` or `failed`).
    ///
    ///     transport handlers (TLS or plain, fire TransportEstablished)
    ///     LineFrameDecoder                      bytes ─▶ lines, bounded by max_line
    ///     LinkHandshakeHandler                  init dialogue, then leaves
    ///     RequestMatcher                        requests out as bytes, replies matched (by id
    ///                                           or in order), timeout, keepalive ping
    ///     PeerLinkHandler                       events back to this link, tagged `connection`
    ///
    /// Every line out is written as bytes by the handler that sends it (the
    /// requests of one flush as one buffer), so no encoder sits in between.
    func connect(_ connection: Int) {
        let transport = transport
        let hostname = host.hostname
        let settings = settings
        let address = address
        ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(settings.connectTimeout))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandlers(try transport.clientHandlers(serverHostname: hostname))
                    try sync.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: settings.maxLine)))
                    try sync.addHandler(LinkHandshakeHandler(peerID: self.peerID, address: address, offersRequestIDs: settings.requestIDs))
                    try sync.addHandler(
                        RequestMatcher(
                            pipelineDepth: settings.pipelineDepth, requestTimeout: settings.requestTimeout, keepalive: settings.keepalive,
                            onReply: { self.recordReply(rttMilliseconds: $0) }, onLost: { self.recordLost($0) },
                            onStrayReply: { self.recordStrayReply($0) }))
                    try sync.addHandler(PeerLinkHandler(link: self, connection: connection))
                }
            }
            .connect(host: host.address, port: host.port(default: settings.port))
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    self.connected(channel, connection: connection)
                case .failure(let error):
                    self.failed(.connectFailed(address: address, reason: Self.describe(error)), connection: connection)
                }
            }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        if case .connectTimeout = error as? ChannelError { return "connect timed out" }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return describe(first.error)
        }
        return "\(error)"
    }
}

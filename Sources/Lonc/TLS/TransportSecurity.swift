import NIOCore

/// What a peer link or the agent puts at the bottom of a channel pipeline to
/// secure it: OpenSSL TLS with mutual authentication, or nothing (`tls.insecure`,
/// loopback only).
///
/// Either way the pipeline fires one `TransportEstablished` user event once the
/// transport is ready for lines; nothing above it may write before that event.
public protocol TransportSecurity: Sendable {
    /// Handlers for the dialling side. The peer's certificate must name `serverHostname`.
    func clientHandlers(serverHostname: String) throws -> [any ChannelHandler]
    /// Handlers for the accepting side. The client's certificate names are reported in
    /// `TransportEstablished.peerCertificateNames` for the caller to map to a hosts-table entry.
    func serverHandlers() throws -> [any ChannelHandler]
}

/// Fired up the pipeline (as a user inbound event) when the transport is ready.
public struct TransportEstablished: Sendable, Equatable {
    /// `TLSv1.3`, `TLSv1.2`, or `plain`.
    public var protocolVersion: String
    /// The negotiated cipher suite; nil for plain.
    public var cipher: String?
    /// The peer certificate's SAN DNS names and CN (verified against `tls.ca`); empty for plain.
    public var peerCertificateNames: [String]

    /// Creates the event.
    public init(protocolVersion: String, cipher: String?, peerCertificateNames: [String]) {
        self.protocolVersion = protocolVersion
        self.cipher = cipher
        self.peerCertificateNames = peerCertificateNames
    }
}

/// Plain TCP, for `tls.insecure` on loopback: fires `TransportEstablished` when the channel becomes active.
public struct PlainTransport: TransportSecurity {
    /// Creates the plain transport.
    public init() {}
    public func clientHandlers(serverHostname: String) throws -> [any ChannelHandler] { [PlainTransportHandler()] }
    public func serverHandlers() throws -> [any ChannelHandler] { [PlainTransportHandler()] }
}

/// Announces a plain channel as established as soon as it is active.
final class PlainTransportHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        context.fireUserInboundEventTriggered(
            TransportEstablished(protocolVersion: "plain", cipher: nil, peerCertificateNames: []))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Added to an already-active channel (accepted sockets are active at once).
        if context.channel.isActive {
            context.fireUserInboundEventTriggered(
                TransportEstablished(protocolVersion: "plain", cipher: nil, peerCertificateNames: []))
        }
    }
}

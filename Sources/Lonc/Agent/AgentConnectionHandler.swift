import Logging
import NIOCore

/// One client of the agent (the lond side of a link): the handshake, then
/// commands, answered in order: its own at once, any other by
/// `settings.application` (async; later replies wait behind it).
///
///     client                          agent
///     init                     ──▶    <32 hex challenge>
///     <challenge>              ──▶    ok            (anything else: refused, close)
///     sethost:<agent id>       ──▶    ok | error:wrong_host
///     version:<v>              ──▶    version:<ours>
///     load | userload | loadavg | ping | exit | …
///
/// Before the echo is accepted every command gets `refused`. The client must
/// finish the transport and the echo within the handshake timeout.
final class AgentConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = String
    typealias OutboundOut = String

    private enum Phase {
        case awaitingTransport
        case awaitingInit
        case awaitingEcho(challenge: String)
        case ready
        case closing
    }

    private let settings: AgentSettings
    private let identify: @Sendable (TransportEstablished, SocketAddress?) -> String?
    private let onPeer: @Sendable (String) -> Void
    private let logger: Logger
    private var phase = Phase.awaitingTransport
    private var handshakeTimer: Scheduled<Void>?
    private var peerID: String?
    private var transport: TransportEstablished?
    /// The last reply still being computed by the application; nil until the first
    /// application command. Every later reply is written after it, so replies stay in order.
    private var lastReply: EventLoopFuture<Void>?

    init(settings: AgentSettings, identify: @escaping @Sendable (TransportEstablished, SocketAddress?) -> String?, onPeer: @escaping @Sendable (String) -> Void, logger: Logger) {
        self.settings = settings
        self.identify = identify
        self.onPeer = onPeer
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let remote = context.channel.remoteAddress
        let timeout = settings.handshakeTimeout
        let logger = logger
        let channel = context.channel
        handshakeTimer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            logger.info("agent: client did not finish the handshake in time; dropped", metadata: ["client": "\(remote.map { "\($0)" } ?? "?")", "timeout": "\(timeout)"])
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let established = event as? TransportEstablished {
            transport = established
            peerID = identify(established, context.channel.remoteAddress)
            if case .awaitingTransport = phase { phase = .awaitingInit }
            // TLS clients whose certificate names no host of the table are refused now.
            if established.protocolVersion != "plain", peerID == nil {
                logger.warning("agent: refused a client whose certificate names no host in the hosts table", metadata: ["names": "\(established.peerCertificateNames)", "client": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")"])
                refuse(context: context)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        switch phase {
        case .awaitingTransport, .closing:
            return
        case .awaitingInit:
            if line == WireProtocol.initCommand {
                let challenge = WireProtocol.makeChallenge()
                phase = .awaitingEcho(challenge: challenge)
                reply(context: context, challenge)
            } else {
                reply(context: context, WireReply.refused)
            }
        case .awaitingEcho(let challenge):
            guard line == challenge else {
                refuse(context: context)
                return
            }
            phase = .ready
            handshakeTimer?.cancel()
            handshakeTimer = nil
            reply(context: context, WireProtocol.ok)
            if let peerID { onPeer(peerID) }
        case .ready:
            answer(context: context, line)
        }
    }

    private func answer(context: ChannelHandlerContext, _ line: String) {
        switch line {
        case WireProtocol.ping: reply(context: context, settings.ownID)
        case WireProtocol.load: reply(context: context, settings.replies.load())
        case WireProtocol.userload: reply(context: context, settings.replies.userload())
        case WireProtocol.loadavg: reply(context: context, settings.replies.loadavg())
        case WireProtocol.exit:
            phase = .closing
            let channel = context.channel
            let before = lastReply ?? context.eventLoop.makeSucceededVoidFuture()
            before.whenComplete { _ in channel.writeAndFlush(WireProtocol.bye).whenComplete { _ in channel.close(promise: nil) } }
        case _ where line.hasPrefix(WireProtocol.sethostPrefix):
            let id = line.dropFirst(WireProtocol.sethostPrefix.count)
            reply(context: context, id == settings.ownID ? WireProtocol.ok : WireProtocol.wrongHost)
        case _ where line.hasPrefix(WireProtocol.versionPrefix):
            reply(context: context, WireProtocol.versionPrefix + WireProtocol.version)
        default:
            guard let application = settings.application else {
                reply(context: context, WireReply.unknownCommand)
                return
            }
            let answer = context.eventLoop.makePromise(of: String.self)
            let peer = peerID ?? ""
            answer.completeWithTask { await application.answer(line, from: peer, messageID: nil) }
            writeInTurn(answer.futureResult, channel: context.channel)
        }
    }

    private func reply(context: ChannelHandlerContext, _ text: String) {
        if lastReply == nil {
            context.write(wrapOutboundOut(text), promise: nil)
        } else {
            writeInTurn(context.eventLoop.makeSucceededFuture(text), channel: context.channel)
        }
    }

    /// Writes `reply` once every earlier reply is written.
    private func writeInTurn(_ reply: EventLoopFuture<String>, channel: any Channel) {
        let before = lastReply ?? channel.eventLoop.makeSucceededVoidFuture()
        lastReply = before.flatMap { reply }.map { text in channel.writeAndFlush(text, promise: nil) }
    }

    private func refuse(context: ChannelHandlerContext) {
        phase = .closing
        context.writeAndFlush(wrapOutboundOut(WireReply.refused))
            .whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // A client that does not read its replies stops being read: our buffers stay bounded.
        context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is LineTooLong {
            logger.info("agent: over-long line from a client; closing", metadata: ["client": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")"])
            phase = .closing
            context.writeAndFlush(wrapOutboundOut(WireProtocol.lineTooLong))
            .whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        } else {
            logger.debug("agent: connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }
}

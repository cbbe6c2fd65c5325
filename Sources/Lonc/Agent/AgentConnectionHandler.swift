import Logging
import NIOCore

/// One client of the agent (the lond side of a link): the handshake, then
/// commands, answered in the order they came. The agent's own commands are
/// answered at once; every other command goes to `settings.application`
/// (one at a time per client, so a client's commands reach it in order) and
/// its reply waits its turn (`OrderedReplies`). Without an application they
/// get `unknown_cmd`.
///
///     client                          agent
///     init                     ──▶    <32 hex challenge>
///     <challenge>              ──▶    ok            (anything else: refused, close)
///     sethost:<agent id>       ──▶    ok | error:wrong_host
///     version:<v>              ──▶    version:<ours>
///     load | userload | loadavg | ping | exit
///     critical:<id>:<cmd> | <cmd>  ──▶    the application's reply
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
    private var replies = OrderedReplies<Reply>()
    /// The application's previous answer on this connection: the next command waits for it.
    private var applicationTail: EventLoopFuture<Void>?
    private var readingPaused = false

    /// A client with more commands than this unanswered is not read until some are answered.
    static let maxOutstanding = 64

    private enum Reply {
        case line(String)
        /// `bye`, then close.
        case bye
    }

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
        let slot = replies.open()
        switch line {
        case WireProtocol.ping: finish(slot, .line(settings.ownID), context: context)
        case WireProtocol.load: finish(slot, .line(settings.replies.load()), context: context)
        case WireProtocol.userload: finish(slot, .line(settings.replies.userload()), context: context)
        case WireProtocol.loadavg: finish(slot, .line(settings.replies.loadavg()), context: context)
        case WireProtocol.exit:
            phase = .closing
            finish(slot, .bye, context: context)
        case _ where line.hasPrefix(WireProtocol.sethostPrefix):
            let id = line.dropFirst(WireProtocol.sethostPrefix.count)
            finish(slot, .line(id == settings.ownID ? WireProtocol.ok : WireProtocol.wrongHost), context: context)
        case _ where line.hasPrefix(WireProtocol.versionPrefix):
            finish(slot, .line(WireProtocol.versionPrefix + WireProtocol.version), context: context)
        default:
            ask(slot, line, context: context)
        }
        if replies.outstanding >= Self.maxOutstanding, !readingPaused {
            readingPaused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    /// Hands a command to the application after the previous one on this connection.
    private func ask(_ slot: Int, _ line: String, context: ChannelHandlerContext) {
        guard let application = settings.application else {
            finish(slot, .line(WireReply.unknownCommand), context: context)
            return
        }
        let critical = CriticalMessage(line: line)
        if critical == nil, line.hasPrefix(WireProtocol.criticalPrefix) {
            finish(slot, .line(WireReply.malformedCritical), context: context)
            return
        }
        let (command, messageID) = critical.map { ($0.command, Optional($0.id)) } ?? (line, nil)
        let peer = peerID ?? WireReply.unknownPeer
        let eventLoop = context.eventLoop
        let channel = context.channel
        let logger = logger
        let previous = applicationTail ?? eventLoop.makeSucceededVoidFuture()
        let answer = previous.flatMap {
            // A client gone while this command waited its turn waits for no reply: the
            // application must not act on it now (the sender got con_lost and may send it again).
            guard channel.isActive else {
                logger.debug("command from a closed client not handed to the application", metadata: ["peer": "\(peer)"])
                return eventLoop.makeSucceededFuture(WireReply.connectionLost)
            }
            return eventLoop.makeFutureWithTask { await application.answer(command, from: peer, messageID: messageID) }
        }
        applicationTail = answer.map { _ in () }
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: eventLoop)
        answer.whenSuccess { reply in handler.value.finish(slot, .line(reply), context: boundContext.value) }
    }

    /// Writes every reply that is now next in line.
    private func finish(_ slot: Int, _ reply: Reply, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        let ready = replies.finish(slot, reply)
        for reply in ready {
            switch reply {
            case .line(let text):
                context.write(wrapOutboundOut(text), promise: nil)
            case .bye:
                context.writeAndFlush(wrapOutboundOut(WireProtocol.bye))
                    .whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
                return
            }
        }
        if !ready.isEmpty { context.flush() }
        if readingPaused, replies.outstanding < Self.maxOutstanding / 2 {
            readingPaused = false
            context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
            context.read()
        }
    }

    private func reply(context: ChannelHandlerContext, _ text: String) {
        context.write(wrapOutboundOut(text), promise: nil)
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
        context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable && !readingPaused).whenFailure { _ in }
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

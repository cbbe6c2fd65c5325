import NIOCore

/// The client side of the `init` dialogue, one line at a time:
///
///     TransportEstablished ─▶ send "init"
///     "3f2a…" (32 hex)      ─▶ send "3f2a…"            (echo the challenge)
///     "ok"                  ─▶ send "sethost:<peer id>"
///     "ok"                  ─▶ send "version:<ours> ids"     (" ids" when offering request ids)
///     "version:<theirs>"    ─▶ fire LinkHandshakeCompleted, leave the pipeline
///                              (with requestIDs when we offered and the answer says " ids")
///
/// Any other answer fires a `HandshakeError` naming what came instead. The
/// dialogue starts on `TransportEstablished` (after TLS), not on channelActive,
/// so no line is written in the clear before TLS is up. The keepalive starts
/// only once it has left (`RequestMatcher`, on `LinkHandshakeCompleted`): a
/// ping in the middle of the dialogue would be taken for a step.
final class LinkHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = String
    typealias InboundOut = String
    typealias OutboundOut = ByteBuffer

    private enum Step { case awaitingTransport, awaitingChallenge, awaitingEchoOK, awaitingSethostOK, awaitingVersion, done }

    private let peerID: String
    private let address: String
    private let offersRequestIDs: Bool
    private var step = Step.awaitingTransport

    /// `peerID` is sent in `sethost`; `address` names the agent in errors;
    /// `offersRequestIDs` adds ` ids` to our `version:` line.
    init(peerID: String, address: String, offersRequestIDs: Bool = true) {
        self.peerID = peerID
        self.address = address
        self.offersRequestIDs = offersRequestIDs
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TransportEstablished, step == .awaitingTransport {
            step = .awaitingChallenge
            context.fireUserInboundEventTriggered(event)
            send(WireProtocol.initCommand, context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        let got = String(reply.prefix(40))
        switch step {
        case .awaitingTransport, .done:
            // Nothing asked yet, or already handed over: the request matcher judges it.
            context.fireChannelRead(data)
        case .awaitingChallenge:
            guard WireProtocol.isChallenge(reply) else { return fail(.badChallenge(got: got), context: context) }
            step = .awaitingEchoOK
            send(reply, context: context)
        case .awaitingEchoOK:
            guard reply == WireProtocol.ok else { return fail(.echoRefused(got: got), context: context) }
            step = .awaitingSethostOK
            send(WireProtocol.sethostPrefix + peerID, context: context)
        case .awaitingSethostOK:
            guard reply == WireProtocol.ok else {
                return fail(.wrongHost(peerID: peerID, address: address, got: got), context: context)
            }
            step = .awaitingVersion
            send(WireVersionLine(version: WireProtocol.version, requestIDs: offersRequestIDs).line, context: context)
        case .awaitingVersion:
            guard let theirs = WireVersionLine(reply) else { return fail(.badVersion(got: got), context: context) }
            step = .done
            let completed = LinkHandshakeCompleted(peerVersion: theirs.version, requestIDs: offersRequestIDs && theirs.requestIDs)
            context.fireUserInboundEventTriggered(completed)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    private func send(_ line: String, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(line: line)), promise: nil)
    }

    private func fail(_ error: HandshakeError, context: ChannelHandlerContext) {
        step = .done
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}

/// Fired by `LinkHandshakeHandler` when the agent answered the whole dialogue.
struct LinkHandshakeCompleted: Sendable, Equatable {
    /// What the agent announced in `version:<v>`.
    var peerVersion: String
    /// Both sides said `ids`: every line from now on carries a request id.
    var requestIDs = false
}

import NIOCore

/// Accepts request ids for the agent, between the line framing and the command
/// handler, without the command handler knowing:
///
///     "version:1.4 ids"  ──▶  (passed on; the client offers ids)
///     "version:1.5"      ◀──  the command handler's answer, sent as "version:1.5 ids";
///                              an `AgentRequestIDCodec` goes in right after this handler,
///                              which leaves the pipeline at the next flush
///
/// A client that does not offer ids never sees the word and keeps plain lines.
/// Only the answer to the offering line is changed: the agent answers in order,
/// so it is the next line written that starts with `version:`. The handler stays
/// until the flush because a `writeAndFlush` reaches it as a write and then a
/// flush: leaving during the write would drop that flush.
final class AgentRequestIDNegotiator: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = String
    typealias InboundOut = String
    typealias OutboundIn = String
    typealias OutboundOut = String

    private enum Step { case listening, offered, accepted }
    private var step = Step.listening

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if step == .listening, let version = WireVersionLine(unwrapInboundIn(data)), version.requestIDs { step = .offered }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard step == .offered, var answer = WireVersionLine(unwrapOutboundIn(data)) else { return context.write(data, promise: promise) }
        answer.requestIDs = true
        step = .accepted
        context.write(wrapOutboundOut(answer.line), promise: promise)
        do {
            try context.pipeline.syncOperations.addHandler(AgentRequestIDCodec(), position: .after(self))
        } catch {
            // The channel is closing: nothing more will be read on it.
            context.fireErrorCaught(error)
        }
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        if step == .accepted { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }
}

import NIOCore

/// Accepts request ids for the agent, between the line framing and the command
/// handler, without the command handler knowing:
///
///     "version:1.4 ids"  ──▶  (passed on; the client offers ids)
///     "version:1.5"      ◀──  the command handler's answer, sent as "version:1.5 ids";
///                              then an `AgentRequestIDCodec` takes this handler's place
///
/// A client that does not offer ids never sees the word and keeps plain lines.
/// Only the answer to the offering line is changed: the agent answers in order,
/// so it is the next line written that starts with `version:`.
final class AgentRequestIDNegotiator: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = String
    typealias InboundOut = String
    typealias OutboundIn = String
    typealias OutboundOut = String

    private var offered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let version = WireVersionLine(unwrapInboundIn(data)), version.requestIDs { offered = true }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard offered, var answer = WireVersionLine(unwrapOutboundIn(data)) else { return context.write(data, promise: promise) }
        answer.requestIDs = true
        context.write(wrapOutboundOut(answer.line), promise: promise)
        let sync = context.pipeline.syncOperations
        do {
            try sync.addHandler(AgentRequestIDCodec(), position: .after(self))
            sync.removeHandler(context: context, promise: nil)
        } catch {
            // The channel is closing: nothing more will be read on it.
            context.fireErrorCaught(error)
        }
    }
}

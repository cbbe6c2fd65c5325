import NIOCore

/// The agent side of request ids: takes the tag off each request and puts it
/// back on the reply. The agent answers in request order, so the ids wait in a
/// queue and each reply takes the oldest:
///
///     "#7 load"    ──▶  "load"        ids waiting: [7]
///     "37.50"      ──▶  "#7 37.50"    ids waiting: []
///
/// An untagged request waits with no id and its reply goes out untagged (the
/// client drops it as unmatched); a line written with nothing waiting (an
/// agent's `error:line_too_long` before it closes) goes out untagged too.
/// Added by `AgentRequestIDNegotiator` once the agent has accepted ids, so the
/// command handler above it never sees a tag.
public final class AgentRequestIDCodec: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = String
    public typealias InboundOut = String
    public typealias OutboundIn = String
    public typealias OutboundOut = String

    private var waiting = CircularBuffer<UInt64?>(initialCapacity: 16)

    /// A codec with nothing waiting.
    public init() {}

    /// Requests read and not yet answered.
    public var unanswered: Int { waiting.count }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        guard let tagged = WireRequestID.parse(line) else {
            waiting.append(nil)
            return context.fireChannelRead(data)
        }
        waiting.append(tagged.id)
        context.fireChannelRead(wrapInboundOut(tagged.text))
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard let id = waiting.popFirst() ?? nil else { return context.write(data, promise: promise) }
        context.write(wrapOutboundOut(WireRequestID.tag(unwrapOutboundIn(data), id: id)), promise: promise)
    }
}

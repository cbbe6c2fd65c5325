import NIOCore

/// A line of a link as the request matcher sees it: its text, and the request
/// id it carried (nil on a link without ids, or a line that was not tagged).
public struct TaggedLine: Sendable, Equatable {
    /// The request id, when the line carried one.
    public var id: UInt64?
    /// The line without its tag.
    public var text: String

    /// A line with or without an id.
    public init(id: UInt64?, text: String) {
        self.id = id
        self.text = text
    }
}

/// The client side of request ids (`WireRequestID`), between the line framing
/// and the request matcher of a peer link:
///
///     TaggedLine(7, "load")  ──▶  "#7 load"          (outbound)
///     "#7 37.50"             ──▶  TaggedLine(7, "37.50")
///     "37.50"                ──▶  TaggedLine(nil, "37.50")   (untagged: never matched by id)
///
/// It starts plain (no tags, `id` nil both ways: the peer did not accept ids, or
/// has not yet) and switches to tags on `LinkHandshakeCompleted` with
/// `requestIDs`, the event the handshake fires after the `version:` exchange,
/// so no line before it is ever tagged.
public final class RequestIDCodec: ChannelDuplexHandler {
    public typealias InboundIn = String
    public typealias InboundOut = TaggedLine
    public typealias OutboundIn = TaggedLine
    public typealias OutboundOut = String

    /// Whether lines are tagged now.
    public private(set) var tagging: Bool

    /// `tagging` true starts with ids on (for tests and fuzzing); a link starts plain.
    public init(tagging: Bool = false) { self.tagging = tagging }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        guard tagging, let tagged = WireRequestID.parse(line) else {
            return context.fireChannelRead(wrapInboundOut(TaggedLine(id: nil, text: line)))
        }
        context.fireChannelRead(wrapInboundOut(TaggedLine(id: tagged.id, text: tagged.text)))
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let line = unwrapOutboundIn(data)
        guard tagging, let id = line.id else { return context.write(wrapOutboundOut(line.text), promise: promise) }
        context.write(wrapOutboundOut(WireRequestID.tag(line.text, id: id)), promise: promise)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? LinkHandshakeCompleted { tagging = completed.requestIDs }
        context.fireUserInboundEventTriggered(event)
    }
}

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

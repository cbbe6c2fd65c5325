import NIOCore

/// A request on its way to the peer: the line, and where its reply goes (nil
/// for a keepalive ping, whose reply only proves the link alive).
struct LinkRequest: Sendable {
    var line: String
    var reply: EventLoopPromise<String>?
}

/// Matches replies to requests on an up link, the way swift-nio-extras'
/// `RequestResponseHandler` does, plus what a peer link needs on top: a
/// pipeline depth, a request timeout, keepalive pings and request ids.
///
///     write LinkRequest ─▶ in flight (≤ pipelineDepth) ─▶ "load\n" to the peer
///                      └─▶ waiting (the rest, in order)
///     "37.50" from peer ─▶ oldest in flight gets it; the first waiting one is sent
///
/// Without request ids order is the only key: a line with nothing in flight, or
/// an oldest request older than `requestTimeout`, means the two sides no longer
/// agree which reply is whose. Then every caller gets `con_lost`, a `LinkFailure`
/// goes up the pipeline, and the link resets. The same happens on close or on
/// any error from below. After that, new requests get `con_lost` at once.
///
/// With request ids (the handshake's `LinkHandshakeCompleted.requestIDs`) each
/// request goes out as `TaggedLine(id, line)` and a reply goes to the request
/// its id names, in any order. A reply whose id names no request in flight
/// (answered already, given up on, never sent) or that has no id is dropped and
/// reported to `onStrayReply`, never matched. A request unanswered for
/// `requestTimeout` while the peer answered others since it was sent gets
/// `con_lost` alone and the link stays up; a peer silent that long still resets it.
///
/// Writes are not flushed here (the link flushes once per event-loop tick, so
/// TLS puts a burst of pipelined requests in one record); requests sent because
/// replies freed their slots are flushed once per read burst.
final class RequestMatcher: ChannelDuplexHandler {
    typealias InboundIn = TaggedLine
    typealias InboundOut = Never
    typealias OutboundIn = LinkRequest
    typealias OutboundOut = TaggedLine

    private struct Sent {
        var id: UInt64?
        var reply: EventLoopPromise<String>?
        var sentAt: NIODeadline
    }

    private let pipelineDepth: Int
    private let requestTimeout: Duration
    private let onReply: (_ rttMilliseconds: Double) -> Void
    private let onLost: (_ callers: Int) -> Void
    private let onStrayReply: (_ why: String) -> Void
    private var requestIDs = false
    private var nextID: UInt64 = 1
    private var lastReadAt = NIODeadline.distantPast
    private var inFlight = CircularBuffer<Sent>(initialCapacity: 16)
    private var waiting = CircularBuffer<(request: LinkRequest, promise: EventLoopPromise<Void>?)>()
    private var open = true
    private var unflushed = false
    private var sweep: Scheduled<Void>?

    /// `onReply` gets each round trip before the caller gets its reply (so a caller
    /// reading the status after its reply sees it counted); `onLost` the number of
    /// callers just given `con_lost`; `onStrayReply` why a reply was dropped unmatched.
    init(
        pipelineDepth: Int, requestTimeout: Duration, onReply: @escaping (_ rttMilliseconds: Double) -> Void,
        onLost: @escaping (_ callers: Int) -> Void, onStrayReply: @escaping (_ why: String) -> Void = { _ in }
    ) {
        self.pipelineDepth = max(1, pipelineDepth)
        self.requestTimeout = requestTimeout
        self.onReply = onReply
        self.onLost = onLost
        self.onStrayReply = onStrayReply
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard open else {
            if let reply = request.reply {
                onLost(1)
                reply.succeed(WireReply.connectionLost)
            }
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if inFlight.count < pipelineDepth {
            transmit(request, promise: promise, context: context)
        } else {
            waiting.append((request, promise))
        }
    }

    func flush(context: ChannelHandlerContext) {
        unflushed = false
        context.flush()
    }

    private func transmit(_ request: LinkRequest, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        var id: UInt64?
        if requestIDs {
            id = nextID
            nextID &+= 1
        }
        inFlight.append(Sent(id: id, reply: request.reply, sentAt: context.eventLoop.now))
        context.write(wrapOutboundOut(TaggedLine(id: id, text: request.line)), promise: promise)
        unflushed = true
        if sweep == nil { armSweep(context: context) }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        guard open else { return }
        let now = context.eventLoop.now
        lastReadAt = now
        let matched: Sent
        if requestIDs {
            guard let id = line.id, let index = inFlight.firstIndex(where: { $0.id == id }) else {
                let shown = String(line.text.prefix(40))
                return onStrayReply(line.id.map { "reply #\($0) (\"\(shown)\") matches no request in flight" } ?? "reply without a request id (\"\(shown)\")")
            }
            matched = index == inFlight.startIndex ? inFlight.removeFirst() : inFlight.remove(at: index)
        } else {
            guard let head = inFlight.popFirst() else { return fault(.unsolicitedLine(line.text), context: context) }
            matched = head
        }
        onReply(Double((now - matched.sentAt).nanoseconds) / 1e6)
        matched.reply?.succeed(line.text)
        sendWaiting(context: context)
    }

    private func sendWaiting(context: ChannelHandlerContext) {
        while inFlight.count < pipelineDepth, let next = waiting.popFirst() {
            transmit(next.request, promise: next.promise, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed { flush(context: context) }
        context.fireChannelReadComplete()
    }

    /// An idle link (no read for `keepalive`, from `IdleStateHandler`) with
    /// nothing in flight sends `ping`; one with requests in flight leaves it to
    /// the request timeout.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? LinkHandshakeCompleted { requestIDs = completed.requestIDs }
        guard let idle = event as? IdleStateHandler.IdleStateEvent else {
            return context.fireUserInboundEventTriggered(event)
        }
        guard idle == .read, open, inFlight.isEmpty, waiting.isEmpty else { return }
        transmit(LinkRequest(line: WireProtocol.ping, reply: nil), promise: nil, context: context)
        flush(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        loseAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        loseAll()
        context.fireErrorCaught(error)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        loseAll()
    }

    // MARK: Failure

    private func fault(_ failure: LinkFailure, context: ChannelHandlerContext) {
        loseAll()
        context.fireErrorCaught(failure)
        context.close(promise: nil)
    }

    /// Every caller in flight or waiting gets `con_lost`; later requests too.
    private func loseAll() {
        open = false
        sweep?.cancel()
        sweep = nil
        var callers: [EventLoopPromise<String>] = []
        while let sent = inFlight.popFirst() { if let reply = sent.reply { callers.append(reply) } }
        while let next = waiting.popFirst() {
            if let reply = next.request.reply { callers.append(reply) }
            next.promise?.fail(ChannelError.ioOnClosedChannel)
        }
        guard !callers.isEmpty else { return }
        onLost(callers.count)
        for reply in callers { reply.succeed(WireReply.connectionLost) }
    }

    /// Wakes when the oldest request in flight reaches `requestTimeout` (not
    /// cancelled when it is answered: NIO cancels by a linear search of its
    /// timer heap), then looks at the oldest request then in flight: one timer
    /// per busy link per `requestTimeout`, not one per request. A link polled
    /// every second with the default 60 s timeout arms it once a minute, not
    /// sixty times.
    private func armSweep(context: ChannelHandlerContext) {
        guard let head = inFlight.first else { return }
        let timeout = TimeAmount(requestTimeout)
        sweep = context.eventLoop.assumeIsolated().scheduleTask(deadline: head.sentAt + timeout) {
            self.sweep = nil
            guard self.open, let head = self.inFlight.first else { return }
            let now = context.eventLoop.now
            guard now - head.sentAt >= timeout else { return self.armSweep(context: context) }
            guard self.requestIDs, self.lastReadAt > head.sentAt else {
                return self.fault(.requestTimedOut(self.requestTimeout), context: context)
            }
            self.retireTimedOut(olderThan: now - timeout, context: context)
            if self.sweep == nil { self.armSweep(context: context) }
        }
    }

    /// With ids, on a peer that is answering: the requests sent before `deadline`
    /// get `con_lost`; their ids are forgotten, so late replies to them are strays.
    private func retireTimedOut(olderThan deadline: NIODeadline, context: ChannelHandlerContext) {
        var retired: [EventLoopPromise<String>?] = []
        while let head = inFlight.first, head.sentAt <= deadline { retired.append(inFlight.removeFirst().reply) }
        let callers = retired.compactMap { $0 }
        if !callers.isEmpty { onLost(callers.count) }
        for reply in callers { reply.succeed(WireReply.connectionLost) }
        sendWaiting(context: context)
        if unflushed { flush(context: context) }
    }
}

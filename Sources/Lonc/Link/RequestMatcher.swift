import NIOCore

/// A request on its way to the peer: the line, and where its reply goes (nil
/// for a keepalive ping, whose reply only proves the link alive).
struct LinkRequest: Sendable {
    var line: String
    var reply: EventLoopPromise<String>?
}

/// Matches replies to requests on an up link, in order, the way
/// swift-nio-extras' `RequestResponseHandler` does, plus what a peer link needs
/// on top: a pipeline depth, a request timeout and keepalive pings.
///
///     write LinkRequest ─▶ in flight (≤ pipelineDepth) ─▶ "load\n" to the peer
///                      └─▶ waiting (the rest, in order)
///     "37.50" from peer ─▶ oldest in flight gets it; the first waiting one is sent
///
/// The line protocol has no request ids, so order is the only key: a line with
/// nothing in flight, or an oldest request older than `requestTimeout`, means
/// the two sides no longer agree which reply is whose. Then every caller gets
/// `con_lost` and a `LinkFailure` goes up the pipeline, and the link resets.
/// The same happens on close or on any error from below. After that, new
/// requests get `con_lost` at once.
///
/// Writes are not flushed here (the link flushes once per event-loop tick, so
/// TLS puts a burst of pipelined requests in one record); requests sent because
/// replies freed their slots are flushed once per read burst.
final class RequestMatcher: ChannelDuplexHandler {
    typealias InboundIn = String
    typealias InboundOut = Never
    typealias OutboundIn = LinkRequest
    typealias OutboundOut = String

    private struct Sent {
        var reply: EventLoopPromise<String>?
        var sentAt: NIODeadline
    }

    private let pipelineDepth: Int
    private let requestTimeout: Duration
    private let onReply: (_ rttMilliseconds: Double) -> Void
    private let onLost: (_ callers: Int) -> Void
    private var inFlight = CircularBuffer<Sent>(initialCapacity: 16)
    private var waiting = CircularBuffer<(request: LinkRequest, promise: EventLoopPromise<Void>?)>()
    private var open = true
    private var unflushed = false
    private var sweep: Scheduled<Void>?

    /// `onReply` gets each round trip before the caller gets its reply (so a caller
    /// reading the status after its reply sees it counted); `onLost` the number of
    /// callers just given `con_lost`.
    init(
        pipelineDepth: Int, requestTimeout: Duration, onReply: @escaping (_ rttMilliseconds: Double) -> Void,
        onLost: @escaping (_ callers: Int) -> Void
    ) {
        self.pipelineDepth = max(1, pipelineDepth)
        self.requestTimeout = requestTimeout
        self.onReply = onReply
        self.onLost = onLost
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
        inFlight.append(Sent(reply: request.reply, sentAt: context.eventLoop.now))
        context.write(wrapOutboundOut(request.line), promise: promise)
        unflushed = true
        if sweep == nil { armSweep(context: context) }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        guard open else { return }
        guard let head = inFlight.popFirst() else {
            return fault(.unsolicitedLine(line), context: context)
        }
        onReply(Double((context.eventLoop.now - head.sentAt).nanoseconds) / 1e6)
        head.reply?.succeed(line)
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

    /// Checks the oldest request a few times per `requestTimeout` (5 ms to 1 s
    /// apart) while anything is in flight: one timer per busy link, none per request.
    private func armSweep(context: ChannelHandlerContext) {
        let every = TimeAmount.milliseconds(max(5, min(1000, requestTimeout.millisecondsValue / 4)))
        sweep = context.eventLoop.assumeIsolated().scheduleTask(in: every) {
            self.sweep = nil
            guard self.open, let head = self.inFlight.first else { return }
            if context.eventLoop.now - head.sentAt >= TimeAmount(self.requestTimeout) {
                self.fault(.requestTimedOut(self.requestTimeout), context: context)
            } else {
                self.armSweep(context: context)
            }
        }
    }
}

import NIOCore

/// The requests of an up link: sends them, matches replies to them, times them
/// out and keeps the quiet link alive. It is the top of the link's line
/// handling, the way swift-nio-extras' `RequestResponseHandler` is, plus what
/// a peer link needs on top: a pipeline depth, a request timeout, keepalive
/// pings and request ids.
///
///     enqueue("load", sink) ─▶ in flight (≤ pipelineDepth) ─▶ "#7 load\n" to the peer on flush()
///                           └─▶ waiting (the rest, in order)
///     "#7 37.50" from peer  ─▶ the request #7 gets "37.50"; the first waiting one is sent
///
/// The link calls `enqueue` and `flush` on its event loop; the lines of one
/// flush go out as one buffer, one write (a poll's `load` and `userload`
/// together, and under TLS one record). Nothing between the line decoder and
/// this handler touches a request: the tag is written and read here, and the
/// one timer here does both the request timeout and the keepalive.
///
/// Without request ids order is the only key: a line with nothing in flight, or
/// an oldest request older than `requestTimeout`, means the two sides no longer
/// agree which reply is whose. Then every caller gets `con_lost`, a `LinkFailure`
/// goes up the pipeline, and the link resets. The same happens on close or on
/// any error from below. After that, new requests get `con_lost` at once.
///
/// With request ids (the handshake's `LinkHandshakeCompleted.requestIDs`) each
/// request goes out as `#<id> <line>` and a reply goes to the request its id
/// names, in any order. A reply whose id names no request in flight (answered
/// already, given up on, never sent) or that has no id is dropped and reported
/// to `onStrayReply`, never matched. A request unanswered for `requestTimeout`
/// while the peer answered others since it was sent gets `con_lost` alone and
/// the link stays up; a peer silent that long still resets it.
///
/// Once the handshake is done, a link with nothing in flight and no line read
/// for `keepalive` sends `ping`; one with requests in flight leaves it to the
/// request timeout.
final class RequestMatcher: ChannelInboundHandler {
    typealias InboundIn = String
    typealias InboundOut = Never
    typealias OutboundOut = ByteBuffer

    private struct Sent {
        var id: UInt64?
        var sink: ReplySink
        var sentAt: NIODeadline
    }

    private let pipelineDepth: Int
    private let requestTimeout: Duration
    private let timeout: TimeAmount
    private let keepalive: TimeAmount
    private let onReply: (_ rttMilliseconds: Double) -> Void
    private let onLost: (_ callers: Int) -> Void
    private let onStrayReply: (_ why: String) -> Void
    private var context: ChannelHandlerContext?
    private var requestIDs = false
    private var handshakeDone = false
    private var nextID: UInt64 = 1
    private var lastReadAt = NIODeadline.distantPast
    private var inFlight = CircularBuffer<Sent>(initialCapacity: 16)
    private var waiting = CircularBuffer<(line: String, sink: ReplySink)>()
    private var open = true
    /// The lines sent since the last flush, written by `flush()` in one go.
    private var outgoing = ByteBuffer()
    /// When the one timer wakes, and its number (a timer whose number is no
    /// longer the latest does nothing: NIO cancels by a linear search of its
    /// timer heap, so an earlier wake-up adds a timer rather than cancel one).
    private var timerAt: NIODeadline?
    private var timerNumber: UInt64 = 0

    /// `onReply` gets each round trip before the caller gets its reply (so a caller
    /// reading the status after its reply sees it counted); `onLost` the number of
    /// callers just given `con_lost`; `onStrayReply` why a reply was dropped unmatched.
    init(
        pipelineDepth: Int, requestTimeout: Duration, keepalive: Duration, onReply: @escaping (_ rttMilliseconds: Double) -> Void,
        onLost: @escaping (_ callers: Int) -> Void, onStrayReply: @escaping (_ why: String) -> Void = { _ in }
    ) {
        self.pipelineDepth = max(1, pipelineDepth)
        self.requestTimeout = requestTimeout
        self.timeout = TimeAmount(requestTimeout)
        self.keepalive = TimeAmount(keepalive)
        self.onReply = onReply
        self.onLost = onLost
        self.onStrayReply = onStrayReply
    }

    /// Whether requests go out tagged `#<id> ` (both sides said `ids`).
    var tagsRequests: Bool { requestIDs }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        loseAll()
        self.context = nil
    }

    // MARK: Requests (from the link, on the event loop)

    /// Sends `line` with the next `flush()`, or queues it behind the pipeline
    /// depth; its reply goes to `sink`. On a closed link the sink gets `con_lost` now.
    func enqueue(_ line: String, sink: ReplySink) {
        guard open, let context else {
            if sink.hasCaller { onLost(1) }
            return sink.deliver(WireReply.connectionLost)
        }
        if inFlight.count < pipelineDepth {
            transmit(line, sink: sink, context: context)
        } else {
            waiting.append((line, sink))
        }
    }

    /// Writes and flushes the lines sent since the last flush, as one buffer.
    func flush() {
        guard let context, outgoing.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(outgoing), promise: nil)
        // The storage is reused once the socket has taken the bytes (the usual case).
        outgoing.clear()
    }

    private func transmit(_ line: String, sink: ReplySink, context: ChannelHandlerContext) {
        var id: UInt64?
        if requestIDs {
            id = nextID
            outgoing.writeString(WireRequestID.prefix(nextID))
            nextID &+= 1
        }
        outgoing.writeString(line)
        outgoing.writeInteger(UInt8(ascii: "\n"))
        let now = context.eventLoop.now
        inFlight.append(Sent(id: id, sink: sink, sentAt: now))
        if inFlight.count == 1 { wake(by: now + timeout, context: context) }
    }

    // MARK: Replies

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        guard open else { return }
        let now = context.eventLoop.now
        lastReadAt = now
        let matched: Sent
        let text: String
        if requestIDs {
            let tagged = WireRequestID.parse(line)
            guard let tagged, let index = inFlight.firstIndex(where: { $0.id == tagged.id }) else {
                let shown = String((tagged?.text ?? line).prefix(40))
                return onStrayReply(tagged.map { "reply #\($0.id) (\"\(shown)\") matches no request in flight" } ?? "reply without a request id (\"\(shown)\")")
            }
            matched = index == inFlight.startIndex ? inFlight.removeFirst() : inFlight.remove(at: index)
            text = tagged.text
        } else {
            guard let head = inFlight.popFirst() else { return fault(.unsolicitedLine(line), context: context) }
            matched = head
            text = line
        }
        onReply(Double((now - matched.sentAt).nanoseconds) / 1e6)
        matched.sink.deliver(text)
        sendWaiting(context: context)
        // The timer may be set for a request's timeout, far off: the keepalive comes first now.
        if inFlight.isEmpty, handshakeDone { wake(by: now + keepalive, context: context) }
    }

    private func sendWaiting(context: ChannelHandlerContext) {
        while inFlight.count < pipelineDepth, let next = waiting.popFirst() {
            transmit(next.line, sink: next.sink, context: context)
        }
    }

    /// Requests sent because replies freed their slots go out once per read burst.
    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    /// The handshake's end turns ids on (when both sides said so) and starts the keepalive.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? LinkHandshakeCompleted {
            requestIDs = completed.requestIDs
            handshakeDone = true
            lastReadAt = context.eventLoop.now
            wake(by: lastReadAt + keepalive, context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        loseAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        loseAll()
        context.fireErrorCaught(error)
    }

    // MARK: The timer: request timeout and keepalive

    /// Makes the timer wake by `deadline`. It is never cancelled: it fires,
    /// looks at the oldest request in flight and the last read, and sets
    /// itself again. So a busy link has one timer per `keepalive` or
    /// `requestTimeout`, not one per request: a link polled every second with
    /// the default 10 s keepalive wakes about every 10 s.
    private func wake(by deadline: NIODeadline, context: ChannelHandlerContext) {
        if let timerAt, timerAt <= deadline { return }
        timerAt = deadline
        timerNumber &+= 1
        let number = timerNumber
        context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.timerFired(number) }
    }

    private func timerFired(_ number: UInt64) {
        guard number == timerNumber, let context else { return }
        timerAt = nil
        guard open else { return }
        let now = context.eventLoop.now
        if let head = inFlight.first, now - head.sentAt >= timeout {
            guard requestIDs, lastReadAt > head.sentAt else {
                return fault(.requestTimedOut(requestTimeout), context: context)
            }
            retireTimedOut(olderThan: now - timeout, context: context)
        } else if handshakeDone, inFlight.isEmpty, waiting.isEmpty, now - lastReadAt >= keepalive {
            transmit(WireProtocol.ping, sink: .keepalive, context: context)
            flush()
        }
        if let head = inFlight.first {
            wake(by: head.sentAt + timeout, context: context)
        } else if handshakeDone {
            wake(by: lastReadAt + keepalive, context: context)
        }
    }

    /// With ids, on a peer that is answering: the requests sent before `deadline`
    /// get `con_lost`; their ids are forgotten, so late replies to them are strays.
    private func retireTimedOut(olderThan deadline: NIODeadline, context: ChannelHandlerContext) {
        var retired: [ReplySink] = []
        while let head = inFlight.first, head.sentAt <= deadline { retired.append(inFlight.removeFirst().sink) }
        let callers = retired.filter(\.hasCaller)
        if !callers.isEmpty { onLost(callers.count) }
        for sink in callers { sink.deliver(WireReply.connectionLost) }
        sendWaiting(context: context)
        flush()
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
        outgoing.clear()
        var callers: [ReplySink] = []
        while let sent = inFlight.popFirst() { if sent.sink.hasCaller { callers.append(sent.sink) } }
        while let next = waiting.popFirst() { if next.sink.hasCaller { callers.append(next.sink) } }
        guard !callers.isEmpty else { return }
        onLost(callers.count)
        for sink in callers { sink.deliver(WireReply.connectionLost) }
    }
}

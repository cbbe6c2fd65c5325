import Logging
import NIOCore
import NIOPosix

/// `agent.handler`: the site's own application behind a UNIX stream socket,
/// the lond-like service the agent hands every command it does not own to
/// (docs/REFERENCE.md, "Application handler"). One line out, one line back:
///
///     balancerd                                                       handler
///     msua2 001764019200.123456789.9f2c41d07a3be815.msua2 store:homework ──▶  (critical: the id)
///     msua2 - get:answer                                              ──▶  (plain: `-`)
///                                                                     ◀──  ok
///
/// `<peer id> <message id or -> <command>`: the peer is the hosts-table id
/// that sent it. Up to `connections` connections are kept open and reused,
/// each carrying one request at a time. What it guards against:
///
/// - No answer within `timeout`, or no handler listening: `con_lost` (the
///   sender keeps a critical message and tries again) and the connection is
///   closed, so a late reply can never be taken for the next request's.
/// - A line the handler sends when no request waits on that connection (a
///   second line for one request, a late one): the connection is closed at
///   once, with a log line. The contract has no ids, so such a line that
///   comes only after the next request was written cannot be told from that
///   request's reply: a connection therefore carries one peer's commands only
///   (another peer's command closes it and opens a new one), so a reply can
///   never reach a peer that did not ask for it.
/// - A reply longer than `links.max_line` less room for the `#<id> ` tag
///   (it could not reach the sender, whose link would close on it and send a
///   critical message again forever): `error:reply_too_long`, and the
///   connection is closed.
/// - A request holding a line break some reader would split on (CR, VT, FF,
///   FS, GS, RS, NEL, U+2028, U+2029): refused with
///   `error:line_contains_newline`, never sent.
/// - No free connection within `timeout` (a stuck handler): `con_lost`; the
///   command never reaches the handler afterwards (`HandlerConnectionPool`).
public final class HandlerSocketClient: AgentApplication {
    /// The socket path (`agent.handler`).
    public let path: String
    /// The longest reply taken from the handler, in bytes.
    public let maxReply: Int
    private let timeout: Duration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let pool: HandlerConnectionPool
    /// Whether the last attempt reached the handler: failures are logged when this changes, not per request.
    private let reachable = Locked<Bool?>(nil)

    /// The answer to a request the handler answered with a line too long to send on.
    public static let replyTooLong = "error:reply_too_long"

    /// A client keeping up to `connections` (at least 1) connections to `path`;
    /// `maxLine` is `links.max_line`, which every reply must fit once tagged.
    public init(path: String, timeout: Duration, connections: Int, maxLine: Int, group: any EventLoopGroup, logger: Logger) {
        self.path = path
        self.timeout = timeout
        self.maxReply = max(1, maxLine - WireRequestID.longestPrefix)
        self.group = group
        self.logger = logger
        self.pool = HandlerConnectionPool(size: max(1, connections))
    }

    /// The request line for the handler.
    static func requestLine(_ command: String, from peer: String, messageID: String?) -> String {
        "\(peer) \(messageID ?? "-") \(command)"
    }

    /// Whether `line` holds a character that some line reader takes for the end
    /// of a line (Python's `str.splitlines`, the widest common one): by Unicode
    /// scalar, since `"\r\n"` is one Character.
    static func holdsLineBreak(_ line: String) -> Bool {
        line.unicodeScalars.contains { scalar in
            switch scalar.value {
            case 0x0A...0x0D, 0x1C...0x1E, 0x85, 0x2028, 0x2029: true
            default: false
            }
        }
    }

    public func answer(_ command: String, from peer: String, messageID: String?) async -> String {
        let line = Self.requestLine(command, from: peer, messageID: messageID)
        guard !Self.holdsLineBreak(line) else { return WireProtocol.lineContainsNewline }
        let eventLoop = group.next()
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        guard let slot = await pool.acquire(for: peer, by: deadline, on: eventLoop) else {
            noteReachable(false, HandlerSocketError.noFreeConnection(timeout))
            return WireReply.connectionLost
        }
        defer { pool.release(slot) }
        do {
            var reply: String
            do {
                reply = try await connection(in: slot, for: peer).exchange(line, by: deadline, timeout: timeout)
            } catch HandlerSocketError.closedBeforeSending {
                // Closed between its last reply and this request (it sent a stray line): a fresh one.
                reply = try await connection(in: slot, for: peer).exchange(line, by: deadline, timeout: timeout)
            }
            noteReachable(true, nil)
            return reply
        } catch is LineTooLong {
            pool.take(slot)?.close()
            logger.error("application handler reply too long; refused, connection closed", metadata: ["handler": "\(path)", "limit": "\(maxReply)"])
            return Self.replyTooLong
        } catch {
            pool.take(slot)?.close()
            noteReachable(false, error)
            return WireReply.connectionLost
        }
    }

    /// Requests waiting for a free connection now.
    var waitingForConnection: Int { pool.waiting }

    /// Closes every open connection.
    public func close() {
        for connection in pool.takeAll() { connection.close() }
    }

    /// The slot's open connection if it carries `peer`'s commands, else a new one.
    private func connection(in slot: Int, for peer: String) async throws -> HandlerConnection {
        if let open = pool.connection(slot), open.isActive, open.peer == peer { return open }
        pool.take(slot)?.close()
        let path = path, logger = logger
        let connection = try await HandlerConnection.connect(path: path, peer: peer, maxReply: maxReply, group: group) {
            logger.warning("application handler sent a line no request waited for; connection closed", metadata: ["handler": "\(path)"])
        }
        pool.put(connection, in: slot)
        return connection
    }

    private func noteReachable(_ now: Bool, _ error: (any Error)?) {
        let before = reachable.withLock { state -> Bool? in
            defer { state = now }
            return state
        }
        guard before != now else { return }
        if now {
            logger.info("application handler answering", metadata: ["handler": "\(path)"])
        } else {
            logger.error(
                "application handler unreachable; its commands are answered con_lost",
                metadata: ["handler": "\(path)", "error": "\(error.map { "\($0)" } ?? "?")"])
        }
    }
}

/// Failures talking to the handler.
enum HandlerSocketError: Error, CustomStringConvertible {
    case timedOut(Duration)
    case closed
    case closedBeforeSending
    case noFreeConnection(Duration)

    var description: String {
        switch self {
        case .timedOut(let timeout): "no answer within \(timeout) (agent.handler_timeout)"
        case .closed: "the handler closed the connection before answering"
        case .closedBeforeSending: "the connection to the handler was closed before the request was sent"
        case .noFreeConnection(let timeout): "no connection to the handler came free within \(timeout) (agent.handler_timeout, agent.handler_connections)"
        }
    }
}

/// One open connection to the handler, one request at a time, one peer's requests only.
final class HandlerConnection: Sendable {
    /// The peer whose commands it carries.
    let peer: String
    private let channel: any Channel
    private let reader: NIOLoopBound<HandlerReplyReader>

    private init(peer: String, channel: any Channel, reader: NIOLoopBound<HandlerReplyReader>) {
        self.peer = peer
        self.channel = channel
        self.reader = reader
    }

    /// Connects; `onUnexpectedLine` is called (on the event loop) when the connection
    /// is closed because the handler sent a line no request waited for.
    static func connect(
        path: String, peer: String, maxReply: Int, group: any EventLoopGroup, onUnexpectedLine: @escaping @Sendable () -> Void
    ) async throws -> HandlerConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addLineFraming(maximumLength: maxReply)
                    try sync.addHandler(HandlerReplyReader(onUnexpectedLine: onUnexpectedLine))
                }
            }
            .connect(unixDomainSocketPath: path)
            .get()
        let reader = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: HandlerReplyReader.self), eventLoop: channel.eventLoop)
        }.get()
        return HandlerConnection(peer: peer, channel: channel, reader: reader)
    }

    var isActive: Bool { channel.isActive }

    /// Sends `line` and waits for one reply line until `deadline` (`timeout` names it in the error).
    func exchange(_ line: String, by deadline: NIODeadline, timeout: Duration) async throws -> String {
        let eventLoop = channel.eventLoop
        let reply = eventLoop.makePromise(of: String.self)
        eventLoop.execute { [channel, reader] in
            guard channel.isActive else { return reply.fail(HandlerSocketError.closedBeforeSending) }
            let timer = eventLoop.scheduleTask(deadline: deadline) { reply.fail(HandlerSocketError.timedOut(timeout)) }
            reply.futureResult.whenComplete { _ in timer.cancel() }
            reader.value.waiting = reply
            channel.writeAndFlush(line).whenFailure { reply.fail($0) }
        }
        return try await reply.futureResult.get()
    }

    func close() { channel.close(promise: nil) }
}

/// Hands the handler's reply line to the request waiting for it; a line with
/// no request waiting closes the connection (the two sides no longer agree
/// which reply is whose).
final class HandlerReplyReader: ChannelInboundHandler {
    typealias InboundIn = String
    var waiting: EventLoopPromise<String>?
    private let onUnexpectedLine: @Sendable () -> Void

    init(onUnexpectedLine: @escaping @Sendable () -> Void) {
        self.onUnexpectedLine = onUnexpectedLine
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let waiting else {
            guard context.channel.isActive else { return }
            onUnexpectedLine()
            return context.close(promise: nil)
        }
        self.waiting = nil
        waiting.succeed(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiting?.fail(HandlerSocketError.closed)
        waiting = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        waiting?.fail(error)
        waiting = nil
        context.close(promise: nil)
    }
}

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
/// each carrying one request at a time. No answer within `timeout`, or no
/// handler listening, answers `con_lost` (the sender keeps a critical
/// message and tries again) and the connection is closed, so a late reply
/// can never be taken for the next request's.
public final class HandlerSocketClient: AgentApplication {
    /// The socket path (`agent.handler`).
    public let path: String
    private let timeout: Duration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let pool: HandlerConnectionPool
    /// Whether the last attempt reached the handler: failures are logged when this changes, not per request.
    private let reachable = Locked<Bool?>(nil)

    /// A client keeping up to `connections` (at least 1) connections to `path`.
    public init(path: String, timeout: Duration, connections: Int, group: any EventLoopGroup, logger: Logger) {
        self.path = path
        self.timeout = timeout
        self.group = group
        self.logger = logger
        self.pool = HandlerConnectionPool(size: max(1, connections))
    }

    /// The request line for the handler.
    static func requestLine(_ command: String, from peer: String, messageID: String?) -> String {
        "\(peer) \(messageID ?? "-") \(command)"
    }

    public func answer(_ command: String, from peer: String, messageID: String?) async -> String {
        let line = Self.requestLine(command, from: peer, messageID: messageID)
        let slot = await pool.acquire()
        defer { pool.release(slot) }
        do {
            let connection = try await connection(in: slot)
            let reply = try await connection.exchange(line, timeout: timeout)
            noteReachable(true, nil)
            return reply
        } catch {
            pool.take(slot)?.close()
            noteReachable(false, error)
            return WireReply.connectionLost
        }
    }

    /// Closes every open connection.
    public func close() {
        for connection in pool.takeAll() { connection.close() }
    }

    private func connection(in slot: Int) async throws -> HandlerConnection {
        if let open = pool.connection(slot), open.isActive { return open }
        pool.take(slot)?.close()
        let connection = try await HandlerConnection.connect(path: path, group: group)
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
            logger.error("application handler \(path) unreachable: \(error.map { "\($0)" } ?? "?"); its commands are answered con_lost", metadata: ["handler": "\(path)"])
        }
    }
}

/// Failures talking to the handler.
enum HandlerSocketError: Error, CustomStringConvertible {
    case timedOut(Duration)
    case closed

    var description: String {
        switch self {
        case .timedOut(let timeout): "no answer within \(timeout) (agent.handler_timeout)"
        case .closed: "the handler closed the connection before answering"
        }
    }
}

/// One open connection to the handler, one request at a time.
final class HandlerConnection: Sendable {
    private let channel: any Channel
    private let reader: NIOLoopBound<HandlerReplyReader>

    private init(channel: any Channel, reader: NIOLoopBound<HandlerReplyReader>) {
        self.channel = channel
        self.reader = reader
    }

    static func connect(path: String, group: any EventLoopGroup) async throws -> HandlerConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addLineFraming(maximumLength: 1 << 20)
                    try sync.addHandler(HandlerReplyReader())
                }
            }
            .connect(unixDomainSocketPath: path)
            .get()
        let reader = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: HandlerReplyReader.self), eventLoop: channel.eventLoop)
        }.get()
        return HandlerConnection(channel: channel, reader: reader)
    }

    var isActive: Bool { channel.isActive }

    /// Sends `line` and waits for one reply line, at most `timeout`.
    func exchange(_ line: String, timeout: Duration) async throws -> String {
        let eventLoop = channel.eventLoop
        let reply = eventLoop.makePromise(of: String.self)
        eventLoop.execute { [channel, reader] in
            let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { reply.fail(HandlerSocketError.timedOut(timeout)) }
            reply.futureResult.whenComplete { _ in timer.cancel() }
            reader.value.waiting = reply
            channel.writeAndFlush(line).whenFailure { reply.fail($0) }
        }
        return try await reply.futureResult.get()
    }

    func close() { channel.close(promise: nil) }
}

/// Hands the handler's reply line to the request waiting for it.
final class HandlerReplyReader: ChannelInboundHandler {
    typealias InboundIn = String
    var waiting: EventLoopPromise<String>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        waiting?.succeed(unwrapInboundIn(data))
        waiting = nil
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

/// Up to `size` connection slots; a request waits for a free one, in arrival order.
final class HandlerConnectionPool: Sendable {
    private struct State: Sendable {
        var free: [Int]
        var connections: [Int: HandlerConnection] = [:]
        var waiters: [CheckedContinuation<Int, Never>] = []
    }
    private let state: Locked<State>

    init(size: Int) { state = Locked(State(free: Array(0..<size))) }

    func acquire() async -> Int {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            let slot = state.withLock { state -> Int? in
                if state.free.isEmpty {
                    state.waiters.append(continuation)
                    return nil
                }
                return state.free.removeLast()
            }
            if let slot { continuation.resume(returning: slot) }
        }
    }

    func release(_ slot: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Int, Never>? in
            if state.waiters.isEmpty {
                state.free.append(slot)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume(returning: slot)
    }

    func connection(_ slot: Int) -> HandlerConnection? { state.withLock { $0.connections[slot] } }
    func put(_ connection: HandlerConnection, in slot: Int) { state.withLock { $0.connections[slot] = connection } }
    func take(_ slot: Int) -> HandlerConnection? { state.withLock { $0.connections.removeValue(forKey: slot) } }
    func takeAll() -> [HandlerConnection] {
        state.withLock { state in
            defer { state.connections = [:] }
            return Array(state.connections.values)
        }
    }
}

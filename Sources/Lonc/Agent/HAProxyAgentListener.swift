import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Answers HAProxy's `agent-check` (`agent.haproxy_listen`): a plain TCP port
/// where every connection gets one line and is closed.
///
///     HAProxy ──connect──▶ agent
///             ◀── "up ready 75%\n" ── close
///
/// Whatever HAProxy sends (`agent-send`) is read and ignored. No TLS: HAProxy's
/// agent check is plain TCP; the line says only how busy this server is, and the
/// port should be bound to an address only the HAProxy hosts reach.
///
/// The port shares the agent's one event loop with the peer links, so nothing
/// a client of it does may hold that loop: the line is computed on a thread of
/// its own, at most once per `maxAge` (`AgentCheckAnswerCache`), and at most
/// `maxConnections` are open at once; past that a new connection is closed
/// unanswered (HAProxy opens one per check, so only a flood meets the cap).
public final class HAProxyAgentListener: Sendable {
    /// Connections answered or waiting for the line at once.
    public static let defaultMaxConnections = 64
    /// The line is computed at most this often.
    public static let defaultMaxAge = Duration.milliseconds(250)

    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let logger: Logger
    private let channel = ListeningChannel()
    private let answers: AgentCheckAnswers
    private let connections: ConnectionCap

    /// `answer` runs on a thread of its own, never on the event loop, at most once per `maxAge`.
    public init(
        host: String, port: Int, group: any EventLoopGroup, logger: Logger, maxConnections: Int = defaultMaxConnections,
        maxAge: Duration = defaultMaxAge, answer: @escaping @Sendable () -> String
    ) {
        self.host = host
        self.port = port
        self.group = group
        self.logger = logger
        self.answers = AgentCheckAnswers(maxAge: maxAge, compute: answer)
        self.connections = ConnectionCap(limit: maxConnections)
    }

    /// Connections open now (answered and closing, or waiting for the line).
    public var openConnections: Int { connections.open }
    /// Connections closed unanswered because `maxConnections` were open, since start.
    public var refusedConnections: Int { connections.refused }

    /// Starts listening; returns the bound address (useful with port 0).
    @discardableResult
    public func start() async throws -> SocketAddress {
        answers.start()
        let (answers, connections, logger) = (answers, connections, logger)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard connections.admit() else {
                    // Logged at the 1st, 2nd, 4th, 8th… refusal: a flood is seen, and cannot fill the log.
                    let refused = connections.refused
                    if refused & (refused - 1) == 0 {
                        logger.warning("agent-check connection closed unanswered: too many open", metadata: [
                            "limit": "\(connections.limit)", "refused": "\(refused)",
                        ])
                    }
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in connections.release() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HAProxyAgentHandler(answer: answers.line(on:)))
                }
            }
            .bind(host: host, port: port)
            .get()
        self.channel.set(channel)
        guard let address = channel.localAddress else { throw AgentError.noAddress }
        logger.info("answering HAProxy agent checks", metadata: ["address": "\(address)"])
        return address
    }

    /// Stops listening.
    public func stop() async {
        await channel.close()
        await answers.stop()
    }
}

/// Counts open connections against a limit.
final class ConnectionCap: Sendable {
    let limit: Int
    private let counts = Mutex((open: 0, refused: 0))

    init(limit: Int) { self.limit = limit }

    var open: Int { counts.withLock { $0.open } }
    var refused: Int { counts.withLock { $0.refused } }

    /// True, and counted, when one more may open; false (and counted as refused) at the limit.
    func admit() -> Bool {
        counts.withLock { counts in
            guard counts.open < limit else {
                counts.refused += 1
                return false
            }
            counts.open += 1
            return true
        }
    }

    func release() { counts.withLock { $0.open -= 1 } }
}

/// The agent-check line for every connection: `AgentCheckAnswerCache`'s
/// decisions carried out, the computation on a thread pool of one thread.
final class AgentCheckAnswers: Sendable {
    private let compute: @Sendable () -> String
    private let pool = NIOThreadPool(numberOfThreads: 1)
    private let state: Mutex<(cache: AgentCheckAnswerCache, waiting: [EventLoopPromise<String>])>

    init(maxAge: Duration, compute: @escaping @Sendable () -> String) {
        self.compute = compute
        state = Mutex((AgentCheckAnswerCache(maxAge: maxAge), []))
    }

    func start() { pool.start() }

    func stop() async { try? await pool.shutdownGracefully() }

    /// The line, fresh or at most `maxAge` old; completed on `eventLoop`.
    func line(on eventLoop: any EventLoop) -> EventLoopFuture<String> {
        let promise = eventLoop.makePromise(of: String.self)
        let action = state.withLock { state in
            let action = state.cache.ask(at: .now())
            if case .answer = action {} else { state.waiting.append(promise) }
            return action
        }
        switch action {
        case .answer(let line):
            promise.succeed(line)
        case .compute:
            pool.submit { [self] _ in
                let line = compute()
                let waiting = state.withLock { state in
                    state.cache.computed(line, at: .now())
                    defer { state.waiting = [] }
                    return state.waiting
                }
                for waiter in waiting { waiter.succeed(line) }
            }
        case .wait:
            break
        }
        return promise.futureResult
    }
}

/// Writes the answer line as soon as HAProxy connects, then closes.
final class HAProxyAgentHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let answer: @Sendable (any EventLoop) -> EventLoopFuture<String>

    init(answer: @escaping @Sendable (any EventLoop) -> EventLoopFuture<String>) { self.answer = answer }

    func channelActive(context: ChannelHandlerContext) {
        // The channel, not the context: the client may have gone before the line is ready.
        let channel = context.channel
        answer(context.eventLoop).whenSuccess { line in
            channel.writeAndFlush(ByteBuffer(string: line + "\n")).whenComplete { _ in channel.close(promise: nil) }
        }
        context.fireChannelActive()
    }

    /// `agent-send` text, or anything else: not needed to answer.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

import Logging
import NIOCore
import NIOPosix

/// Answers HAProxy's `agent-check` (`agent.haproxy_listen`): a plain TCP port
/// where every connection gets one line and is closed.
///
///     HAProxy ──connect──▶ agent
///             ◀── "up ready 75%\n" ── close
///
/// Whatever HAProxy sends (`agent-send`) is read and ignored. No TLS: HAProxy's
/// agent check is plain TCP; the line says only how busy this server is, and the
/// port should be bound to an address only the HAProxy hosts reach.
public final class HAProxyAgentListener: Sendable {
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let answer: @Sendable () -> String
    private let logger: Logger
    private let channel = ListeningChannel()

    /// `answer` is asked once per connection, on the event loop: keep it cheap (it reads a few small files).
    public init(host: String, port: Int, group: any EventLoopGroup, logger: Logger, answer: @escaping @Sendable () -> String) {
        self.host = host
        self.port = port
        self.group = group
        self.logger = logger
        self.answer = answer
    }

    /// Starts listening; returns the bound address (useful with port 0).
    @discardableResult
    public func start() async throws -> SocketAddress {
        let answer = answer
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HAProxyAgentHandler(answer: answer))
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
    }
}

/// Writes the answer line as soon as HAProxy connects, then closes.
final class HAProxyAgentHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let answer: @Sendable () -> String

    init(answer: @escaping @Sendable () -> String) { self.answer = answer }

    func channelActive(context: ChannelHandlerContext) {
        let line = answer() + "\n"
        let context = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.value.writeAndFlush(wrapOutboundOut(ByteBuffer(string: line))).whenComplete { _ in
            context.value.close(promise: nil)
        }
        context.value.fireChannelActive()
    }

    /// `agent-send` text, or anything else: not needed to answer.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

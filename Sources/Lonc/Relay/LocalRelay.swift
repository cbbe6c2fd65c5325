import Foundation
import Logging
import NIOCore
import NIOPosix

/// `<socket_dir>/<peer id>`: a UNIX stream socket per peer (mode 0660) where
/// local clients write lines and read the peer's replies, many clients sharing
/// one link (the seed's multiplexed domain sockets).
public final class LocalRelay: Sendable {
    private let socketDirectory: String
    private let router: RelayRouter
    private let group: any EventLoopGroup
    private let logger: Logger
    private let maxLine: Int
    private let owner: SocketGroup?
    private let servers = Locked<[String: any Channel]>([:])

    /// Creates the relay; `update(peers:)` opens the sockets. With `owner`,
    /// the sockets and their folder belong to that group (`socket_group`).
    public init(socketDirectory: String, owner: SocketGroup? = nil, router: RelayRouter, group: any EventLoopGroup, maxLine: Int, logger: Logger) {
        self.socketDirectory = socketDirectory
        self.owner = owner
        self.router = router
        self.group = group
        self.maxLine = maxLine
        self.logger = logger
    }

    /// Opens a socket for every new peer and closes those of removed ones.
    public func update(peers: [String]) async throws {
        let wanted = Set(peers)
        let stale: [(String, any Channel)] = servers.withLock { servers in
            let stale = servers.filter { !wanted.contains($0.key) }.map { ($0.key, $0.value) }
            for (id, _) in stale { servers[id] = nil }
            return stale
        }
        for (id, channel) in stale {
            try? await channel.close()
            unlink("\(socketDirectory)/\(id)")
        }
        for id in peers where servers.withLock({ $0[id] == nil }) {
            let channel = try await open(peer: id)
            servers.withLock { $0[id] = channel }
        }
    }

    /// Closes every socket and removes the files.
    public func stop() async {
        let all = servers.withLock { servers in
            defer { servers = [:] }
            return servers
        }
        for (id, channel) in all {
            try? await channel.close()
            unlink("\(socketDirectory)/\(id)")
        }
    }

    /// Group members may use it (0660): lonc's clients were the web server's handlers.
    private func open(peer: String) async throws -> any Channel {
        let router = router
        return try await UnixSocketListener.bind(path: "\(socketDirectory)/\(peer)", mode: 0o660, owner: owner, maxLine: maxLine, group: group) {
            RelayClientHandler(peer: peer, router: router)
        }
    }
}

/// One local client: its lines go to the peer one after another, in the order
/// written (as lonnet's clients expect); many clients share the link at once.
/// A client with more than `maxOutstanding` lines unanswered is not read until
/// some are answered.
final class RelayClientHandler: ChannelInboundHandler {
    typealias InboundIn = String
    typealias OutboundOut = String

    static let maxOutstanding = 64

    private let peer: String
    private let router: RelayRouter
    private var replies = OrderedReplies<String>()
    private var reading = true
    private var tail: EventLoopFuture<Void>?

    init(peer: String, router: RelayRouter) {
        self.peer = peer
        self.router = router
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        let index = replies.open()
        let (router, peer) = (router, self.peer)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        // One line at a time per client, in the order it wrote them: separate tasks
        // would race, and a client's critical messages could be stored out of order.
        let eventLoop = context.eventLoop
        let previous = tail ?? eventLoop.makeSucceededVoidFuture()
        let reply = previous.flatMap { eventLoop.makeFutureWithTask { await router.handle(peer: peer, line: line, from: .localClient) } }
        tail = reply.map { _ in () }
        reply.whenSuccess { reply in
            loopBound.value.finish(index, reply, context: contextBound.value)
        }
        if replies.outstanding >= Self.maxOutstanding, reading {
            reading = false
            _ = context.channel.setOption(ChannelOptions.autoRead, value: false)
        }
    }

    private func finish(_ index: Int, _ reply: String, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        let ready = replies.finish(index, reply)
        for line in ready { context.write(wrapOutboundOut(line), promise: nil) }
        if !ready.isEmpty { context.flush() }
        if !reading, replies.outstanding < Self.maxOutstanding / 2 {
            reading = true
            _ = context.channel.setOption(ChannelOptions.autoRead, value: true)
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is LineTooLong {
            context.writeAndFlush(wrapOutboundOut(WireProtocol.lineTooLong)).whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }
}

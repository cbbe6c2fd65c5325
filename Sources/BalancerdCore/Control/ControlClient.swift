import Foundation
import NIOCore
import NIOPosix

/// The client side of `<socket_dir>/control`, for `balancerd ctl`: one
/// command line out, one reply line back, over NIO.
public enum ControlClient {
    /// How long the daemon may take to answer (a reload reads files).
    static let replyTimeout = TimeAmount.seconds(30)

    /// Sends one command line and returns the reply line.
    public static func send(_ command: String, to path: String) throws(ControlError) -> String {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let address: SocketAddress
        do {
            address = try SocketAddress(unixDomainSocketPath: path)
        } catch {
            throw ControlError("\(path): path too long for a UNIX socket")
        }
        let reply = group.next().makePromise(of: String.self)
        let channel: any Channel
        do {
            channel = try ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ReplyLineHandler(reply: reply, path: path)) }
                }
                .connect(to: address)
                .wait()
        } catch {
            reply.fail(error)
            throw Self.connectError(error, path: path)
        }
        let timeout = channel.eventLoop.scheduleTask(in: replyTimeout) { reply.fail(ControlError("\(path): no reply within 30 s")) }
        channel.writeAndFlush(ByteBuffer(string: command + "\n"), promise: nil)
        defer {
            timeout.cancel()
            try? channel.close().wait()
        }
        do {
            return try reply.futureResult.wait()
        } catch let error as ControlError {
            throw error
        } catch {
            throw ControlError("\(path): \(error)")
        }
    }

    private static func connectError(_ error: any Error, path: String) -> ControlError {
        switch (error as? IOError)?.errnoCode {
        case ENOENT, ECONNREFUSED:
            ControlError("no balancerd is listening on \(path): is `balancerd serve` running (and socket_dir the same)?")
        case EACCES, EPERM:
            ControlError("\(path): permission denied (the control socket belongs to the user running balancerd)")
        case let code?:
            ControlError("\(path): \(String(cString: strerror(code)))")
        case nil:
            ControlError("\(path): \(error)")
        }
    }
}

/// Collects bytes up to the first newline and fulfils `reply` with that line;
/// a close before it fails `reply`.
private final class ReplyLineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let reply: EventLoopPromise<String>
    private let path: String
    private var received = ByteBuffer()

    init(reply: EventLoopPromise<String>, path: String) {
        self.reply = reply
        self.path = path
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        received.writeBuffer(&chunk)
        guard let newline = received.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return }
        let length = newline - received.readerIndex
        reply.succeed(received.readString(length: length) ?? "")
    }

    func channelInactive(context: ChannelHandlerContext) {
        // After a reply this changes nothing: a promise completes once.
        reply.fail(ControlError("\(path): the daemon closed without a reply"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        reply.fail(error)
        context.close(promise: nil)
    }
}

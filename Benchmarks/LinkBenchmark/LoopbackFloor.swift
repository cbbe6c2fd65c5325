import Foundation
import Lonc
import NIOCore
import NIOPosix

/// The floor under "one at a time" on this machine, measured in the same run:
/// one request, one reply, over loopback, without balancerd's link.
///
/// - `bare NIO echo`: a NIO server that echoes each line and a NIO client that
///   sends the next line from the event loop as soon as the reply comes (no
///   task hop, no promise, no matcher): what NIO and the kernel cost.
/// - `blocking sockets`: two threads, send and recv on a TCP socket pair over
///   127.0.0.1, no event loop at all: what the kernel's loopback round trip costs.
enum LoopbackFloor {
    /// Round trips per second and the latencies (ns) of a NIO line echo.
    static func nioEcho(group: any EventLoopGroup, count: Int) async throws -> (perSecond: Double, latencies: [UInt64]) {
        let server = try await ServerBootstrap(group: group)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addLineFraming(maximumLength: 1024)
                    try channel.pipeline.syncOperations.addHandler(LineEcho())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let done = group.next().makePromise(of: [UInt64].self)
        let start = DispatchTime.now().uptimeNanoseconds
        let client = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addLineFraming(maximumLength: 1024)
                    try channel.pipeline.syncOperations.addHandler(PingPongClient(count: count, done: done))
                }
            }
            .connect(to: server.localAddress!).get()
        let latencies = try await done.futureResult.get()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try await client.close()
        try await server.close()
        return (Double(count) / seconds, latencies.sorted())
    }

    /// Round trips per second and the latencies (ns) of blocking send/recv over 127.0.0.1.
    static func blockingSockets(count: Int) throws -> (perSecond: Double, latencies: [UInt64]) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        listen(listener, 1)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) } }
        let served = accept(listener, nil, nil)
        var one: Int32 = 1
        for descriptor in [client, served] {
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let echo = Thread {
            var buffer = [UInt8](repeating: 0, count: 64)
            while true {
                let got = buffer.withUnsafeMutableBytes { recv(served, $0.baseAddress, $0.count, 0) }
                guard got > 0 else { break }
                _ = buffer.withUnsafeBytes { send(served, $0.baseAddress, got, Int32(MSG_NOSIGNAL)) }
            }
            close(served)
        }
        echo.start()
        let request = Array("load\n".utf8)
        var reply = [UInt8](repeating: 0, count: 64)
        var latencies: [UInt64] = []
        latencies.reserveCapacity(count)
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<count {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = request.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            _ = reply.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            latencies.append(DispatchTime.now().uptimeNanoseconds - t0)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        shutdown(client, Int32(SHUT_RDWR))
        return (Double(count) / seconds, latencies.sorted())
    }
}

/// Writes every line back.
final class LineEcho: ChannelInboundHandler {
    typealias InboundIn = String
    typealias OutboundOut = String

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

/// Sends `load`, waits for the echo, sends the next, `count` times; then succeeds `done` with the latencies.
final class PingPongClient: ChannelInboundHandler {
    typealias InboundIn = String
    typealias OutboundOut = String

    private let count: Int
    private let done: EventLoopPromise<[UInt64]>
    private var latencies: [UInt64] = []
    private var sentAt: UInt64 = 0

    init(count: Int, done: EventLoopPromise<[UInt64]>) {
        self.count = count
        self.done = done
        latencies.reserveCapacity(count)
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        latencies.append(DispatchTime.now().uptimeNanoseconds - sentAt)
        if latencies.count == count {
            done.succeed(latencies)
        } else {
            send(context: context)
        }
    }

    private func send(context: ChannelHandlerContext) {
        sentAt = DispatchTime.now().uptimeNanoseconds
        context.writeAndFlush(wrapOutboundOut(WireProtocol.load), promise: nil)
    }
}

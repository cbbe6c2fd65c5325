import NIOCore
import NIOEmbedded
import Testing
@testable import Lonc

/// The end of a test pipeline: keeps the errors and user events that reach it.
final class PipelineRecorder: ChannelInboundHandler {
    typealias InboundIn = Never
    var errors: [any Error] = []
    var events: [Any] = []

    func errorCaught(context: ChannelHandlerContext, error: any Error) { errors.append(error) }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) { events.append(event) }
}

/// The value of a future that has completed, or nil if it has not.
func completed(_ future: EventLoopFuture<String>) -> String? {
    let value = Locked<String?>(nil)
    future.whenSuccess { reply in value.withLock { $0 = reply } }
    return value.withLock { $0 }
}

@Suite("link handshake handler")
struct LinkHandshakeHandlerTests {
    static let challenge = String(repeating: "ab", count: 16)

    /// An active channel with the handshake handler and a recorder, the transport up.
    static func channel() throws -> (EmbeddedChannel, PipelineRecorder) {
        let recorder = PipelineRecorder()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(LinkHandshakeHandler(peerID: "agent1", address: "127.0.0.1:5663"))
        try channel.pipeline.syncOperations.addHandler(recorder)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5663)).wait()
        return (channel, recorder)
    }

    @Test("the four steps, then LinkHandshakeCompleted, and the handler leaves the pipeline")
    func success() throws {
        let (channel, recorder) = try Self.channel()
        #expect(try channel.readOutbound(as: String.self) == nil, "nothing before the transport is up")
        channel.pipeline.fireUserInboundEventTriggered(TransportEstablished(protocolVersion: "plain", cipher: nil, peerCertificateNames: []))
        #expect(try channel.readOutbound(as: String.self) == "init")
        try channel.writeInbound(Self.challenge)
        #expect(try channel.readOutbound(as: String.self) == Self.challenge)
        try channel.writeInbound("ok")
        #expect(try channel.readOutbound(as: String.self) == "sethost:agent1")
        try channel.writeInbound("ok")
        #expect(try channel.readOutbound(as: String.self) == "version:\(WireProtocol.version) ids")
        try channel.writeInbound("version:9.9")
        #expect(recorder.events.compactMap { $0 as? LinkHandshakeCompleted } == [LinkHandshakeCompleted(peerVersion: "9.9")])
        #expect(recorder.errors.isEmpty)
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: LinkHandshakeHandler.self) }
        #expect(channel.isActive)
    }

    @Test("each wrong answer fails with its own error, naming what came, and closes", arguments: [
        (1, "refused", HandshakeError.badChallenge(got: "refused")),
        (2, "refused", .echoRefused(got: "refused")),
        (3, "error:wrong_host", .wrongHost(peerID: "agent1", address: "127.0.0.1:5663", got: "error:wrong_host")),
        (4, "ok", .badVersion(got: "ok")),
    ])
    func failure(step: Int, answer: String, expected: HandshakeError) throws {
        let (channel, recorder) = try Self.channel()
        channel.pipeline.fireUserInboundEventTriggered(TransportEstablished(protocolVersion: "plain", cipher: nil, peerCertificateNames: []))
        let good = [Self.challenge, "ok", "ok"]
        for index in 0..<(step - 1) { try channel.writeInbound(good[index]) }
        try channel.writeInbound(answer)
        #expect(recorder.errors.compactMap { $0 as? HandshakeError } == [expected])
        #expect(!channel.isActive)
        #expect(recorder.events.contains { $0 is LinkHandshakeCompleted } == false)
    }

    @Test("keepalive events stop at the handshake: no ping in the middle of the dialogue")
    func idleDuringHandshake() throws {
        let (channel, recorder) = try Self.channel()
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(recorder.events.isEmpty)
    }
}

@Suite("request matcher")
struct RequestMatcherTests {
    final class Counts {
        var replies = 0
        var lost = 0
    }

    static func channel(depth: Int = 2, timeout: Duration = .seconds(1)) throws -> (EmbeddedChannel, PipelineRecorder, Counts) {
        let counts = Counts()
        let recorder = PipelineRecorder()
        let channel = EmbeddedChannel()
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(RequestIDCodec())
        try sync.addHandler(
            RequestMatcher(pipelineDepth: depth, requestTimeout: timeout, onReply: { _ in counts.replies += 1 }, onLost: { counts.lost += $0 }))
        try sync.addHandler(recorder)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5663)).wait()
        return (channel, recorder, counts)
    }

    static func request(_ line: String, on channel: EmbeddedChannel) -> EventLoopFuture<String> {
        let reply = channel.eventLoop.makePromise(of: String.self)
        channel.writeAndFlush(LinkRequest(line: line, reply: reply), promise: nil)
        return reply.futureResult
    }

    static func sent(_ channel: EmbeddedChannel) throws -> [String] {
        var lines: [String] = []
        while let line = try channel.readOutbound(as: String.self) { lines.append(line) }
        return lines
    }

    @Test("replies go to requests in order; beyond the pipeline depth requests wait, and go out as slots free")
    func pipelined() throws {
        let (channel, _, counts) = try Self.channel(depth: 2)
        let replies = ["load", "userload", "ping"].map { Self.request($0, on: channel) }
        #expect(try Self.sent(channel) == ["load", "userload"])
        try channel.writeInbound("37.50")
        #expect(try Self.sent(channel) == ["ping"], "the waiting one goes out when the first reply frees a slot")
        try channel.writeInbound("12.00")
        try channel.writeInbound("agent1")
        #expect(replies.map(completed) == ["37.50", "12.00", "agent1"])
        #expect(counts.replies == 3)
        #expect(counts.lost == 0)
    }

    @Test("a close gives every caller in flight and waiting con_lost, and later requests too")
    func closeLosesAll() throws {
        let (channel, _, counts) = try Self.channel(depth: 1)
        let replies = ["load", "userload"].map { Self.request($0, on: channel) }
        try channel.close().wait()
        #expect(replies.map(completed) == ["con_lost", "con_lost"])
        #expect(counts.lost == 2)
    }

    @Test("a line with nothing in flight: a LinkFailure, and the channel closes")
    func unsolicited() throws {
        let (channel, recorder, _) = try Self.channel()
        try channel.writeInbound("agent1 again")
        #expect(recorder.errors.compactMap { $0 as? LinkFailure } == [.unsolicitedLine("agent1 again")])
        #expect(!channel.isActive)
    }

    @Test("the oldest request unanswered for request_timeout fails everything with con_lost")
    func timeout() throws {
        let (channel, recorder, counts) = try Self.channel(depth: 1, timeout: .milliseconds(400))
        let first = Self.request("load", on: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        let second = Self.request("userload", on: channel)
        #expect(completed(first) == nil)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
        #expect(completed(first) == "con_lost")
        #expect(completed(second) == "con_lost")
        #expect(counts.lost == 2)
        #expect(recorder.errors.compactMap { $0 as? LinkFailure } == [.requestTimedOut(.milliseconds(400))])
        #expect(!channel.isActive)
    }

    @Test("a reply in time keeps the link; the timer only watches the oldest request")
    func noTimeoutWhenAnswered() throws {
        let (channel, recorder, _) = try Self.channel(timeout: .milliseconds(400))
        let reply = Self.request("load", on: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
        try channel.writeInbound("37.50")
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(completed(reply) == "37.50")
        #expect(recorder.errors.isEmpty)
        #expect(channel.isActive)
    }

    @Test("an idle link is pinged every keepalive; the ping's reply is consumed, not an error")
    func keepalivePing() throws {
        // IdleStateHandler reads the wall clock (NIODeadline.now()), not the
        // embedded loop's, so its event is fired here by hand; PeerLinkTests'
        // "an idle link is pinged" covers the real handler over a socket.
        let (channel, recorder, counts) = try Self.channel()
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(try Self.sent(channel) == ["ping"])
        try channel.writeInbound("agent1")
        #expect(recorder.errors.isEmpty)
        #expect(counts.replies == 1)
        #expect(counts.lost == 0)
    }

    @Test("no ping while a request is in flight: the request timeout watches that link")
    func noPingWhenBusy() throws {
        let (channel, _, _) = try Self.channel(timeout: .seconds(60))
        _ = Self.request("load", on: channel)
        #expect(try Self.sent(channel) == ["load"])
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(try Self.sent(channel) == [])
    }
}

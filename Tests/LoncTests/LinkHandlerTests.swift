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

/// The lines written to `channel` since the last call, in order (each write is
/// bytes ending in LF; one write may carry several lines).
func sentLines(_ channel: EmbeddedChannel) throws -> [String] {
    var lines: [String] = []
    while var bytes = try channel.readOutbound(as: ByteBuffer.self) {
        let text = bytes.readString(length: bytes.readableBytes) ?? ""
        #expect(text.hasSuffix("\n"), "a write ends with a whole line")
        lines += text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
    return lines
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
        #expect(try sentLines(channel) == [], "nothing before the transport is up")
        channel.pipeline.fireUserInboundEventTriggered(TransportEstablished(protocolVersion: "plain", cipher: nil, peerCertificateNames: []))
        #expect(try sentLines(channel) == ["init"])
        try channel.writeInbound(Self.challenge)
        #expect(try sentLines(channel) == [Self.challenge])
        try channel.writeInbound("ok")
        #expect(try sentLines(channel) == ["sethost:agent1"])
        try channel.writeInbound("ok")
        #expect(try sentLines(channel) == ["version:\(WireProtocol.version) ids"])
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
}

@Suite("request matcher")
struct RequestMatcherTests {
    final class Counts {
        var replies = 0
        var lost = 0
    }

    /// An active channel with a matcher (keepalive 10 s) and a recorder.
    static func channel(depth: Int = 2, timeout: Duration = .seconds(1)) throws -> (EmbeddedChannel, RequestMatcher, PipelineRecorder, Counts) {
        let counts = Counts()
        let recorder = PipelineRecorder()
        let channel = EmbeddedChannel()
        let matcher = RequestMatcher(
            pipelineDepth: depth, requestTimeout: timeout, keepalive: .seconds(10), onReply: { _ in counts.replies += 1 },
            onLost: { counts.lost += $0 })
        try channel.pipeline.syncOperations.addHandler(matcher)
        try channel.pipeline.syncOperations.addHandler(recorder)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5663)).wait()
        return (channel, matcher, recorder, counts)
    }

    /// Sends `line` as the link does (queued, then flushed) and returns its reply to come.
    static func request(_ line: String, on matcher: RequestMatcher, in channel: EmbeddedChannel) -> EventLoopFuture<String> {
        let reply = channel.eventLoop.makePromise(of: String.self)
        matcher.enqueue(line, sink: .promise(reply))
        matcher.flush()
        return reply.futureResult
    }

    static func sent(_ channel: EmbeddedChannel) throws -> [String] { try sentLines(channel) }

    @Test("replies go to requests in order; beyond the pipeline depth requests wait, and go out as slots free")
    func pipelined() throws {
        let (channel, matcher, _, counts) = try Self.channel(depth: 2)
        let replies = ["load", "userload", "ping"].map { Self.request($0, on: matcher, in: channel) }
        #expect(try Self.sent(channel) == ["load", "userload"])
        try channel.writeInbound("37.50")
        #expect(try Self.sent(channel) == ["ping"], "the waiting one goes out when the first reply frees a slot")
        try channel.writeInbound("12.00")
        try channel.writeInbound("agent1")
        #expect(replies.map(completed) == ["37.50", "12.00", "agent1"])
        #expect(counts.replies == 3)
        #expect(counts.lost == 0)
    }

    @Test("the lines queued before one flush go out in one write; a batch's replies go to its callback by index, no promise")
    func batchInOneWrite() throws {
        let (channel, matcher, _, _) = try Self.channel(depth: 4)
        let got = Locked<[Int: String]>([:])
        for (index, line) in ["load", "userload"].enumerated() {
            matcher.enqueue(line, sink: .batch(index: index, deliver: { i, reply in got.withLock { $0[i] = reply } }))
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing goes out before the flush")
        matcher.flush()
        var write = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(write.readString(length: write.readableBytes) == "load\nuserload\n")
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        try channel.writeInbound("37.50")
        try channel.writeInbound("12.00")
        #expect(got.withLock { $0 } == [0: "37.50", 1: "12.00"])
    }

    @Test("a close gives every caller in flight and waiting con_lost, and later requests too")
    func closeLosesAll() throws {
        let (channel, matcher, _, counts) = try Self.channel(depth: 1)
        let replies = ["load", "userload"].map { Self.request($0, on: matcher, in: channel) }
        try channel.close().wait()
        #expect(replies.map(completed) == ["con_lost", "con_lost"])
        #expect(counts.lost == 2)
        #expect(completed(Self.request("load", on: matcher, in: channel)) == "con_lost")
        #expect(counts.lost == 3)
    }

    @Test("a line with nothing in flight: a LinkFailure, and the channel closes")
    func unsolicited() throws {
        let (channel, _, recorder, _) = try Self.channel()
        try channel.writeInbound("agent1 again")
        #expect(recorder.errors.compactMap { $0 as? LinkFailure } == [.unsolicitedLine("agent1 again")])
        #expect(!channel.isActive)
    }

    @Test("the oldest request unanswered for request_timeout fails everything with con_lost")
    func timeout() throws {
        let (channel, matcher, recorder, counts) = try Self.channel(depth: 1, timeout: .milliseconds(400))
        let first = Self.request("load", on: matcher, in: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        let second = Self.request("userload", on: matcher, in: channel)
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
        let (channel, matcher, recorder, _) = try Self.channel(timeout: .milliseconds(400))
        let reply = Self.request("load", on: matcher, in: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
        try channel.writeInbound("37.50")
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(completed(reply) == "37.50")
        #expect(recorder.errors.isEmpty)
        #expect(channel.isActive)
    }

    @Test("once the handshake is done, a link quiet for keepalive is pinged; the ping's reply is consumed, not an error")
    func keepalivePing() throws {
        let (channel, _, recorder, counts) = try Self.channel(timeout: .seconds(60))
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(try Self.sent(channel) == [], "no ping before the handshake is done: it would be taken for a step")
        channel.pipeline.fireUserInboundEventTriggered(LinkHandshakeCompleted(peerVersion: "9.9"))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(9_999))
        #expect(try Self.sent(channel) == [])
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(try Self.sent(channel) == ["ping"])
        try channel.writeInbound("agent1")
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(try Self.sent(channel) == ["ping"], "and again a keepalive after the last line read")
        try channel.writeInbound("agent1")
        #expect(recorder.errors.isEmpty)
        #expect(counts.replies == 2)
        #expect(counts.lost == 0)
    }

    @Test("no ping while a request is in flight or lines come in: the request timeout watches a busy link")
    func noPingWhenBusy() throws {
        let (channel, matcher, recorder, _) = try Self.channel(timeout: .seconds(60))
        channel.pipeline.fireUserInboundEventTriggered(LinkHandshakeCompleted(peerVersion: "9.9"))
        _ = Self.request("load", on: matcher, in: channel)
        #expect(try Self.sent(channel) == ["load"])
        channel.embeddedEventLoop.advanceTime(by: .seconds(15))
        #expect(try Self.sent(channel) == [])
        for _ in 0..<3 {
            try channel.writeInbound("37.50")
            channel.embeddedEventLoop.advanceTime(by: .seconds(6))
            _ = Self.request("load", on: matcher, in: channel)
            #expect(try Self.sent(channel) == ["load"], "a link polled every 6 s is never pinged")
        }
        #expect(recorder.errors.isEmpty)
    }
}

import NIOCore
import NIOEmbedded
import Testing
import TestSupport
@testable import Lonc

/// A tagged line's parts, as `WireRequestID.parse` gives them.
struct Tagged: Equatable, Sendable {
    var id: UInt64
    var text: String
}

@Suite("request ids")
struct RequestIDTests {
    @Test("a tagged line is #, 1 to 19 digits, a space, then the text; anything else is not tagged", arguments: [
        ("#7 load", Tagged(id: 7, text: "load")),
        ("#0 ", Tagged(id: 0, text: "")),
        ("#12 0.75 0.50 0.25", Tagged(id: 12, text: "0.75 0.50 0.25")),
        ("#9999999999999999999 x", Tagged(id: 9_999_999_999_999_999_999, text: "x")),
        ("#99999999999999999999 x", nil), ("#7load", nil), ("# load", nil), ("#7", nil), ("7 load", nil), ("", nil), ("#-1 x", nil),
    ])
    func parse(line: String, expected: Tagged?) {
        #expect(WireRequestID.parse(line).map { Tagged(id: $0.id, text: $0.text) } == expected)
        if let expected { #expect(WireRequestID.tag(expected.text, id: expected.id) == line) }
    }

    @Test("version: offers or accepts ids with the word ids after the version; other words are ignored")
    func versionLine() {
        #expect(WireVersionLine("version:1.4 ids") == WireVersionLine(version: "1.4", requestIDs: true))
        #expect(WireVersionLine("version:1.4") == WireVersionLine(version: "1.4", requestIDs: false))
        #expect(WireVersionLine("version:1.4 zstd ids") == WireVersionLine(version: "1.4", requestIDs: true))
        #expect(WireVersionLine("version:") == WireVersionLine(version: "", requestIDs: false))
        #expect(WireVersionLine("ok") == nil)
        #expect(WireVersionLine(version: "1.4", requestIDs: true).line == "version:1.4 ids")
    }

    /// An active channel with the agent's id negotiator above commands answered at once.
    static func agentChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(AgentRequestIDNegotiator())
        try channel.pipeline.syncOperations.addHandler(EchoCommands())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5663)).wait()
        return channel
    }

    @Test("the agent's negotiator: only the answer to an offer says ids, then the codec tags replies in request order")
    func agentNegotiation() throws {
        let channel = try Self.agentChannel()
        try channel.writeInbound("version:1.0 ids")
        #expect(try channel.readOutbound(as: String.self) == "version:\(WireProtocol.version) ids")
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: AgentRequestIDNegotiator.self) }
        try channel.writeInbound("#5 load")
        try channel.writeInbound("#6 userload")
        try channel.writeInbound("untagged")
        #expect(try channel.readOutbound(as: String.self) == "#5 answer to load")
        #expect(try channel.readOutbound(as: String.self) == "#6 answer to userload")
        #expect(try channel.readOutbound(as: String.self) == "answer to untagged")
    }

    @Test("the agent's negotiator: a client that does not offer ids keeps plain lines")
    func agentWithoutOffer() throws {
        let channel = try Self.agentChannel()
        try channel.writeInbound("version:1.0")
        #expect(try channel.readOutbound(as: String.self) == "version:\(WireProtocol.version)")
        try channel.writeInbound("#5 load")
        #expect(try channel.readOutbound(as: String.self) == "answer to #5 load")
    }

    @Test("the matcher with ids: replies in any order reach their requests; doubled, unknown and untagged replies are dropped and reported")
    func matcherByID() throws {
        let strays = Strays()
        let channel = EmbeddedChannel()
        let matcher = RequestMatcher(
            pipelineDepth: 4, requestTimeout: .seconds(1), keepalive: .seconds(10), onReply: { _ in }, onLost: { _ in },
            onStrayReply: { strays.reasons.append($0) })
        try channel.pipeline.syncOperations.addHandler(matcher)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5663)).wait()
        channel.pipeline.fireUserInboundEventTriggered(LinkHandshakeCompleted(peerVersion: "9.9", requestIDs: true))
        let replies = ["load", "userload", "loadavg"].map { RequestMatcherTests.request($0, on: matcher, in: channel) }
        #expect(try RequestMatcherTests.sent(channel) == ["#1 load", "#2 userload", "#3 loadavg"])
        try channel.writeInbound("#2 12.00")
        try channel.writeInbound("#2 99.99")
        try channel.writeInbound("#1 37.50")
        try channel.writeInbound("#77 1.00")
        try channel.writeInbound("5.00")
        try channel.writeInbound("#3 0.75 0.50 0.25")
        #expect(replies.map(completed) == ["37.50", "12.00", "0.75 0.50 0.25"])
        #expect(strays.reasons.count == 3)
        #expect(strays.reasons.first?.contains("#2") == true)
        #expect(channel.isActive, "a stray reply on an id link never resets it")
    }

    @Test("the matcher without ids (an agent that did not accept them) matches in order, and a stray line still resets the link")
    func matcherWithoutIDs() throws {
        let (channel, matcher, recorder, _) = try RequestMatcherTests.channel(depth: 2)
        channel.pipeline.fireUserInboundEventTriggered(LinkHandshakeCompleted(peerVersion: "1.0", requestIDs: false))
        let reply = RequestMatcherTests.request("load", on: matcher, in: channel)
        #expect(try RequestMatcherTests.sent(channel) == ["load"])
        try channel.writeInbound("#1 37.50")
        #expect(completed(reply) == "#1 37.50", "an untagged link passes lines through as they are")
        try channel.writeInbound("extra")
        #expect(recorder.errors.contains { $0 as? LinkFailure == .unsolicitedLine("extra") })
    }

    @Test("a link to the real agent agrees on ids; one told not to offer them keeps plain lines, and both get the right figures")
    func linkToAgent() async throws {
        let (agent, port) = try await AgentFixture.agent()
        defer { Task { await agent.stop() } }
        for offer in [true, false] {
            var settings = AgentFixture.fastSettings
            settings.requestIDs = offer
            let link = AgentFixture.link(to: port, settings: settings)
            link.start()
            #expect(await eventually { link.status.state == .up })
            #expect(link.status.requestIDs == offer)
            #expect(await link.request(["load", "userload", "ping", "loadavg"], timeout: .seconds(5)) == ["37.50", "12.00", "agent1", "0.75 0.50 0.25"])
            #expect(link.traffic.strayRepliesTotal == 0)
            await link.shutdown()
        }
    }

    @Test("a new client to an agent that does not know ids (answers version: without them) keeps plain lines")
    func linkToOldAgent() async throws {
        let agent = try ScriptedAgent(id: "agent1") { line in "reply to \(line)" }
        try await AgentFixture.withLink(to: agent.port) { link in
            #expect(link.status.requestIDs == false)
            #expect(await link.request("load") == "reply to load")
            #expect(agent.received.contains("load"))
        }
    }
}

/// Stray-reply reasons a matcher reported.
final class Strays {
    var reasons: [String] = []
}

/// Stands in for the agent's command handler: answers each line at once, in order.
final class EchoCommands: ChannelInboundHandler {
    typealias InboundIn = String
    typealias OutboundOut = String

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        let answer = WireVersionLine(line).map { _ in WireProtocol.versionPrefix + WireProtocol.version } ?? "answer to \(line)"
        context.writeAndFlush(wrapOutboundOut(answer), promise: nil)
    }
}

import NIOCore
import NIOEmbedded
import Testing
@testable import Lonc

/// The HAProxy agent-check answer: the mapping from load to weight or drain,
/// and the handler's one line then close.
@Suite("HAProxy agent-check")
struct HAProxyAgentTests {
    static func line(load: Double?, userLoad: Double? = 0, drained: Bool = false, maxLoad: Double = 100) -> String {
        HAProxyAgentAnswer(loadPercent: load, userLoadPercent: userLoad, drained: drained, maxLoad: maxLoad).line
    }

    @Test("the weight falls linearly from 100 % to 1 % as the effective load nears max_load", arguments: [
        (0.0, 0.0, "up ready 100%"), (10.0, 0.0, "up ready 90%"), (40.0, 75.0, "up ready 25%"), (75.0, 40.0, "up ready 25%"),
        (99.0, 0.0, "up ready 1%"), (99.9, 0.0, "up ready 1%"),
    ])
    func weights(load: Double, userLoad: Double, expected: String) {
        #expect(Self.line(load: load, userLoad: userLoad) == expected)
    }

    @Test("drain at or above max_load (load or userload), while drained, and when a figure is unknown")
    func drains() {
        #expect(Self.line(load: 100) == "up drain 0%")
        #expect(Self.line(load: 138) == "up drain 0%")
        #expect(Self.line(load: 10, userLoad: 100) == "up drain 0%")
        #expect(Self.line(load: 10, drained: true) == "up drain 0%")
        #expect(Self.line(load: nil) == "up drain 0%")
        #expect(Self.line(load: 10, userLoad: nil) == "up drain 0%")
    }

    @Test("max_load is the scale: 60 % of a max_load of 120 leaves half the weight")
    func scale() {
        #expect(Self.line(load: 60, maxLoad: 120) == "up ready 50%")
        #expect(Self.line(load: 110, maxLoad: 120) == "up ready 8%")
        #expect(Self.line(load: 110, maxLoad: 100) == "up drain 0%")
    }

    @Test("the handler writes one line on connect, ignores what HAProxy sends, and closes")
    func handler() throws {
        let channel = EmbeddedChannel(handler: HAProxyAgentHandler(answer: { $0.makeSucceededFuture("up ready 42%") }))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(string: "backend-a\n"))
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: written) == "up ready 42%\n")
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(!channel.isActive)
    }
}

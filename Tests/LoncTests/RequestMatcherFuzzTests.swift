import NIOCore
import NIOEmbedded
import Testing
import TestSupport
@testable import Lonc

/// The request matcher driven by seeded random sequences: requests queued and
/// flushed, a peer answering (in order, or with ids in any order, twice, with
/// ids no one asked for), time passing past timeouts and keepalives, a close.
/// Whatever happens, every request's reply reaches its sink exactly once, and
/// it is its own answer or `con_lost`, never another request's.
@Suite("request matcher, seeded random sequences")
struct RequestMatcherFuzzTests {
    /// The replies each request got, by request number.
    final class Delivered: Sendable {
        private let box = Locked<[Int: [String]]>([:])
        var replies: [Int: [String]] { box.withLock { $0 } }
        func record(_ request: Int, _ reply: String) { box.withLock { $0[request, default: []].append(reply) } }
    }

    /// A peer that answers `q<n>` with `r<n>` and `ping` with its id, keeping each request's tag.
    struct Peer {
        var unanswered: [(id: String?, answer: String)] = []
        var answered: [String] = []

        mutating func read(_ lines: [String], tagged: Bool) {
            for line in lines {
                var id: String?
                var text = line
                if tagged, let parsed = WireRequestID.parse(line) {
                    id = String(parsed.id)
                    text = parsed.text
                }
                let answer = text == WireProtocol.ping ? "agent1" : "r" + text.dropFirst()
                unanswered.append((id, answer))
            }
        }

        /// The next line to send: the oldest answer, or with ids any of them.
        mutating func next<G: RandomNumberGenerator>(anyOrder: Bool, using rng: inout G) -> String? {
            guard !unanswered.isEmpty else { return nil }
            let index = anyOrder ? Int.random(in: 0..<unanswered.count, using: &rng) : 0
            let (id, answer) = unanswered.remove(at: index)
            let line = id.map { "#\($0) \(answer)" } ?? answer
            answered.append(line)
            return line
        }
    }

    @Test("every request gets exactly one reply, its own or con_lost, however the peer and the clock behave")
    func everyRequestAnsweredOnce() throws {
        let seed = Fuzz.seed(0x5EED_0022)
        var rng = SeededGenerator(seed: seed)
        for iteration in 0..<Fuzz.iterations(default: 300) {
            try run(iteration: iteration, seed: seed, using: &rng)
        }
    }

    private func run(iteration: Int, seed: UInt64, using rng: inout SeededGenerator) throws {
        let ids = Bool.random(using: &rng)
        let delivered = Delivered()
        let channel = EmbeddedChannel()
        let matcher = RequestMatcher(
            pipelineDepth: Int.random(in: 1...4, using: &rng), requestTimeout: .seconds(Int64.random(in: 1...5, using: &rng)),
            keepalive: .seconds(Int64.random(in: 1...5, using: &rng)), onReply: { _ in }, onLost: { _ in })
        try channel.pipeline.syncOperations.addHandler(matcher)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5663)).wait()
        channel.pipeline.fireUserInboundEventTriggered(LinkHandshakeCompleted(peerVersion: "9.9", requestIDs: ids))
        var peer = Peer()
        var requests = 0
        let context = "seed \(seed), iteration \(iteration), ids \(ids)"
        for _ in 0..<Int.random(in: 1...40, using: &rng) {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<4:
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let number = requests
                    requests += 1
                    if Bool.random(using: &rng) {
                        let promise = channel.eventLoop.makePromise(of: String.self)
                        promise.futureResult.whenSuccess { delivered.record(number, $0) }
                        matcher.enqueue("q\(number)", sink: .promise(promise))
                    } else {
                        matcher.enqueue("q\(number)", sink: .batch(index: number, deliver: { delivered.record($0, $1) }))
                    }
                }
                matcher.flush()
            case 4..<7:
                guard let line = peer.next(anyOrder: ids, using: &rng) else { break }
                // A closed channel (a fault ended it) refuses the line: nothing to check there.
                _ = try? channel.writeInbound(line)
            case 7:
                // With ids: an answer again, or an id no one asked for (both dropped as strays).
                guard ids else { break }
                _ = try? channel.writeInbound(peer.answered.randomElement(using: &rng) ?? "#999999 r0")
            default:
                channel.embeddedEventLoop.advanceTime(by: .milliseconds(Int64.random(in: 0...3_000, using: &rng)))
            }
            if channel.isActive { peer.read(try sentLines(channel), tagged: ids) }
            for (request, replies) in delivered.replies {
                #expect(replies.count == 1, "request \(request) got \(replies) (\(context))")
                #expect(replies.allSatisfy { $0 == "r\(request)" || $0 == WireReply.connectionLost }, "request \(request) got \(replies) (\(context))")
            }
        }
        _ = try? channel.close().wait()
        for request in 0..<requests {
            let replies = delivered.replies[request] ?? []
            #expect(replies.count == 1, "request \(request) of \(requests) got \(replies) after the close (\(context))")
        }
    }
}

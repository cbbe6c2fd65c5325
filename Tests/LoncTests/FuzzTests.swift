import NIOCore
import NIOEmbedded
import Testing
import FuzzTargets
import TestSupport
@testable import Lonc

/// Seeded random inputs for the two parsers that read what other machines
/// wrote: the line framer (bytes from a peer) and the hosts table (a file an
/// operator edits). `make test` tries 20,000 inputs each; `make soak` 1,000,000.
/// The reference framing and the hosts-table invariants are the coverage-guided
/// fuzz targets' (`Fuzz/Targets`), so both fuzzers judge by the same rules.
@Suite("fuzz: line framer and hosts table")
struct LoncFuzzTests {
    @Test("the framer yields exactly the lines of any byte stream, in any chunking, and fails on the byte that makes a line too long")
    func lineFramer() async throws {
        let iterations = Fuzz.iterations(default: 20_000)
        let seed = Fuzz.seed(0x5EED_0001)
        var rng = SeededGenerator(seed: seed)
        var failures = 0
        for iteration in 0..<iterations {
            // Seconds of CPU on one of the two threads Swift concurrency shares between
            // tests: let the others' tasks (pollers, agents) run between iterations.
            if iteration % 50 == 0 { await Task.yield() }
            let limit = Int.random(in: 1...48, using: &rng)
            let stream = Fuzz.bytes(Int.random(in: 0...300, using: &rng), using: &rng)
            let (expected, failsAt) = LineFramerFuzz.expectedFraming(stream, limit: limit)

            let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(maximumLength: limit)))
            var lines: [String] = []
            var failedInChunk: Range<Int>?
            var offset = 0
            while offset < stream.count, failedInChunk == nil {
                let end = min(stream.count, offset + Int.random(in: 1...64, using: &rng))
                do {
                    try channel.writeInbound(channel.allocator.buffer(bytes: stream[offset..<end]))
                } catch is LineTooLong {
                    failedInChunk = offset..<end
                }
                while let line = try channel.readInbound(as: String.self) { lines.append(line) }
                offset = end
            }
            _ = try? channel.finish()

            let framedRight = lines == expected
            let failedRight: Bool
            switch (failsAt, failedInChunk) {
            case (nil, nil): failedRight = true
            case (let at?, let chunk?): failedRight = chunk.contains(at)
            default: failedRight = false
            }
            if !(framedRight && failedRight) {
                failures += 1
                Issue.record("seed \(seed) iteration \(iteration): limit \(limit), stream \(stream): lines \(lines) expected \(expected); failed in \(String(describing: failedInChunk)) expected at \(String(describing: failsAt))")
                if failures > 3 { return }
            }
        }
    }

    @Test("the hosts-table parser never crashes; what it accepts is well formed, what it refuses names real lines")
    func hostsTable() async throws {
        let iterations = Fuzz.iterations(default: 20_000)
        let seed = Fuzz.seed(0x5EED_0002)
        var rng = SeededGenerator(seed: seed)
        var accepted = 0
        for iteration in 0..<iterations {
            if iteration % 50 == 0 { await Task.yield() }  // as in lineFramer
            let bytes = Int.random(in: 0..<8, using: &rng) == 0
                ? Fuzz.bytes(Int.random(in: 0...200, using: &rng), using: &rng)
                : Fuzz.mutate(FuzzTarget.validHostsTable, using: &rng)
            let text = String(decoding: bytes, as: UTF8.self)
            let broken = HostsTableFuzz.check(text)
            #expect(broken.isEmpty, "seed \(seed) iteration \(iteration): \(text.debugDescription): \(broken)")
            if (try? HostsTable.parse(text, file: "hosts.tab")) != nil { accepted += 1 }
        }
        // The mutations must leave some tables valid, or the accept branch is never tested.
        #expect(accepted > iterations / 20)
    }
}

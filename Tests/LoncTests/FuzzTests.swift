import NIOCore
import NIOEmbedded
import Testing
import TestSupport
@testable import Lonc

/// Seeded random inputs for the two parsers that read what other machines
/// wrote: the line framer (bytes from a peer) and the hosts table (a file an
/// operator edits). `make test` tries 20,000 inputs each; `make soak` 1,000,000.
@Suite("fuzz: line framer and hosts table")
struct LoncFuzzTests {
    /// What the framer must do with `stream`, worked out byte by byte: the lines
    /// it yields, and the offset of the byte at which it must fail (nil: never).
    static func expectedFraming(_ stream: [UInt8], limit: Int) -> (lines: [String], failsAt: Int?) {
        var lines: [String] = []
        var current: [UInt8] = []
        for (offset, byte) in stream.enumerated() {
            if byte == UInt8(ascii: "\n") {
                var line = current
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if line.count > limit { return (lines, offset) }
                lines.append(String(decoding: line, as: UTF8.self))
                current.removeAll()
            } else {
                current.append(byte)
                // Even a CR next could not bring this line back under the limit.
                if current.count > limit + 1 { return (lines, offset) }
            }
        }
        return (lines, nil)
    }

    @Test("the framer yields exactly the lines of any byte stream, in any chunking, and fails on the byte that makes a line too long")
    func lineFramer() throws {
        let iterations = Fuzz.iterations(default: 20_000)
        let seed = Fuzz.seed(0x5EED_0001)
        var rng = SeededGenerator(seed: seed)
        var failures = 0
        for iteration in 0..<iterations {
            let limit = Int.random(in: 1...48, using: &rng)
            let stream = Fuzz.bytes(Int.random(in: 0...300, using: &rng), using: &rng)
            let (expected, failsAt) = Self.expectedFraming(stream, limit: limit)

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

    static let validTable = Array("""
        # id:domain:role:hostname:ip[:port]
        msul1:msu:library:zaphod.lite.msu.edu:35.8.63.51
        msua1:msu:access:agrajag.lite.msu.edu:35.8.63.68:5663
        lb2:demo:access:lb2.localhost:[::1]:5702
        c:d:access:c.example:2001:db8::7
        """.utf8)

    @Test("the hosts-table parser never crashes; what it accepts is well formed, what it refuses names real lines")
    func hostsTable() throws {
        let iterations = Fuzz.iterations(default: 20_000)
        let seed = Fuzz.seed(0x5EED_0002)
        var rng = SeededGenerator(seed: seed)
        var accepted = 0
        for iteration in 0..<iterations {
            let bytes = Int.random(in: 0..<8, using: &rng) == 0
                ? Fuzz.bytes(Int.random(in: 0...200, using: &rng), using: &rng)
                : Fuzz.mutate(Self.validTable, using: &rng)
            let text = String(decoding: bytes, as: UTF8.self)
            let lineCount = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).count
            let context = "seed \(seed) iteration \(iteration): \(text.debugDescription)"
            do {
                let table = try HostsTable.parse(text, file: "hosts.tab")
                accepted += 1
                #expect(Set(table.ids).count == table.ids.count, "\(context)")
                for entry in table.entries {
                    #expect(!entry.id.isEmpty && !entry.id.contains(":"), "\(context)")
                    #expect(HostsTable.isHostname(entry.hostname), "\(context)")
                    #expect(!entry.address.isEmpty, "\(context)")
                    if let port = entry.port { #expect((1...65_535).contains(port), "\(context)") }
                }
            } catch {
                #expect(!error.problems.isEmpty, "\(context)")
                for problem in error.problems {
                    #expect(!problem.message.isEmpty, "\(context)")
                    if let line = problem.line { #expect((1...max(lineCount, 1)).contains(line), "\(context)") }
                }
            }
        }
        // The mutations must leave some tables valid, or the accept branch is never tested.
        #expect(accepted > iterations / 20)
    }
}

import Lonc
import NIOCore
import NIOEmbedded

/// Input: a limit byte (1…48), a chunking byte, then the stream. The framer
/// must yield exactly the lines a plain reference split yields, and fail with
/// `LineTooLong` in the chunk holding the byte that makes a line too long.
public enum LineFramerFuzz {
    static func run(_ bytes: [UInt8]) -> [String] {
        var input = FuzzInput(bytes)
        let limit = Int(input.byte() % 48) + 1
        var chunking = UInt32(input.byte()) | 1
        let stream = Array(input.rest())
        let (expected, failsAt) = expectedFraming(stream, limit: limit)

        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(maximumLength: limit)))
        var lines: [String] = []
        var failedInChunk: Range<Int>?
        var offset = 0
        while offset < stream.count, failedInChunk == nil {
            chunking = chunking &* 1_103_515_245 &+ 12345
            let end = min(stream.count, offset + Int((chunking >> 16) % 64) + 1)
            do {
                try channel.writeInbound(channel.allocator.buffer(bytes: stream[offset..<end]))
            } catch is LineTooLong {
                failedInChunk = offset..<end
            } catch {
                return ["unexpected error \(error)"]
            }
            while let line = try? channel.readInbound(as: String.self) { lines.append(line) }
            offset = end
        }
        _ = try? channel.finish()
        var broken: [String] = []
        if lines != expected { broken.append("limit \(limit): lines \(lines), expected \(expected)") }
        switch (failsAt, failedInChunk) {
        case (nil, nil): break
        case (let at?, let chunk?) where chunk.contains(at): break
        default: broken.append("limit \(limit): failed in \(String(describing: failedInChunk)), expected at \(String(describing: failsAt))")
        }
        return broken
    }

    /// The lines of `stream` split at LF (a CR before it dropped), and the offset
    /// of the byte that makes a line longer than `limit`, if one does.
    public static func expectedFraming(_ stream: [UInt8], limit: Int) -> (lines: [String], failsAt: Int?) {
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
}

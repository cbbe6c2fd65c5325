import NIOCore

/// Splits the byte stream of a peer link into lines (docs/REFERENCE.md, "Wire protocol"):
///
///     "load\r\nuserload\n" ──▶ "load", "userload"
///
/// A line ends in LF; a CR right before it is dropped. A line longer than
/// `maximumLength` bytes (without its end) is an error: the agent answers
/// `error:line_too_long` and closes, the client closes. The check happens as
/// bytes arrive, so a peer that never sends LF cannot grow our buffer past the limit.
public struct LineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = String

    /// The longest line accepted, in bytes.
    public let maximumLength: Int
    private var scanned = 0

    /// Creates a decoder for lines of at most `maximumLength` bytes.
    public init(maximumLength: Int) { self.maximumLength = maximumLength }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = view[(view.startIndex + scanned)...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            if view.count > maximumLength + 1 { throw LineTooLong(limit: maximumLength) }
            return .needMoreData
        }
        let length = newline - view.startIndex
        scanned = 0
        var lineLength = length
        if lineLength > 0, view[newline - 1] == UInt8(ascii: "\r") { lineLength -= 1 }
        guard lineLength <= maximumLength else { throw LineTooLong(limit: maximumLength) }
        let line = buffer.getString(at: buffer.readerIndex, length: lineLength) ?? ""
        buffer.moveReaderIndex(forwardBy: length + 1)
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial line at close is dropped: it was never a request.
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.clear()
        return .needMoreData
    }
}

/// A line over `max_line` bytes.
public struct LineTooLong: Error, Sendable, Equatable, CustomStringConvertible {
    /// The limit that was passed.
    public var limit: Int
    public var description: String { "line longer than \(limit) bytes (links.max_line)" }
}

/// Writes each outbound String as one line: the text, then LF.
public final class LineEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = String

    /// Creates the encoder.
    public init() {}

    public func encode(data: String, out: inout ByteBuffer) throws {
        out.writeString(data)
        out.writeInteger(UInt8(ascii: "\n"))
    }
}

import NIOCore

extension ChannelPipeline.SynchronousOperations {
    /// Adds the two handlers every line-protocol pipeline needs, in order:
    ///
    ///     bytes ──▶ LineFrameDecoder ──▶ String          (inbound: one message per line)
    ///     String ──▶ LineEncoder ──▶ "text\n"            (outbound: one line per message)
    ///
    /// Used by the agent, the local relay and the control socket, so that every
    /// socket of the daemon frames lines the same way and bounds them by the
    /// same rule (docs/REFERENCE.md, "Wire protocol"). A peer link reads with
    /// the same decoder and writes its lines as bytes itself (`ByteBuffer(line:)`,
    /// `RequestMatcher`).
    public func addLineFraming(maximumLength: Int) throws {
        try addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: maximumLength)))
        try addHandler(MessageToByteHandler(LineEncoder()))
    }
}

extension ByteBuffer {
    /// `line` as it goes on the wire: the text, then LF.
    public init(line: String) {
        self.init()
        reserveCapacity(line.utf8.count + 1)
        writeString(line)
        writeInteger(UInt8(ascii: "\n"))
    }
}

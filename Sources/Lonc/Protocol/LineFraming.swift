import NIOCore

extension ChannelPipeline.SynchronousOperations {
    /// Adds the two handlers every line-protocol pipeline needs, in order:
    ///
    ///     bytes ──▶ LineFrameDecoder ──▶ String          (inbound: one message per line)
    ///     String ──▶ LineEncoder ──▶ "text\n"            (outbound: one line per message)
    ///
    /// Used by peer links, the agent, the local relay and the control socket, so
    /// that every socket of the daemon frames lines the same way and bounds them
    /// by the same rule (docs/REFERENCE.md, "Wire protocol").
    public func addLineFraming(maximumLength: Int) throws {
        try addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: maximumLength)))
        try addHandler(MessageToByteHandler(LineEncoder()))
    }
}

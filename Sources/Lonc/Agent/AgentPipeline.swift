import Logging
import NIOCore

/// The agent's handlers above the transport, in order, for one client:
///
///     LineFrameDecoder + LineEncoder     bytes ⇄ lines, bounded by max_line
///     AgentRequestIDNegotiator           accepts request ids, then leaves its codec
///     AgentConnectionHandler             the handshake and the commands
///
/// `AgentServer` calls it for every client; the agent's fuzz target builds the
/// same pipeline on an `EmbeddedChannel`, so what is fuzzed is what serves.
/// The command handler must write one reply per request, in request order
/// (an answer computed elsewhere waits for the ones before it): the request-id
/// codec gives each reply the id of the oldest unanswered request.
package enum AgentPipeline {
    /// Adds the handlers to `pipeline`.
    package static func addHandlers(
        to pipeline: ChannelPipeline.SynchronousOperations, settings: AgentSettings,
        identify: @escaping @Sendable (TransportEstablished, SocketAddress?) -> String?,
        onPeer: @escaping @Sendable (String) -> Void, logger: Logger
    ) throws {
        try pipeline.addLineFraming(maximumLength: settings.maxLine)
        try pipeline.addHandler(AgentRequestIDNegotiator())
        try pipeline.addHandler(AgentConnectionHandler(settings: settings, identify: identify, onPeer: onPeer, logger: logger))
    }
}

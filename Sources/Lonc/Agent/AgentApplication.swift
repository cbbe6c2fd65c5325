/// Answers the commands the agent does not own itself (everything but the
/// handshake, `ping`, `load`, `userload`, `loadavg`, `exit`): a site's own
/// lond-like service behind `agent.handler`, or the daemon's own
/// application commands. One reply line per command.
public protocol AgentApplication: Sendable {
    /// The reply to `command`, sent by the host `peer` (its hosts-table id).
    /// `messageID` is the critical message's identity when the command came
    /// as `critical:<id>:<command>`, nil for a plain command.
    func answer(_ command: String, from peer: String, messageID: String?) async -> String
}

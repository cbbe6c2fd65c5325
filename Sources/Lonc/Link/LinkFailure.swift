/// Why a peer link's connection ended. The description is what `/status`
/// shows as `last_error`, so it names the address, the peer or the limit.
public enum LinkFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// TCP connect failed: refused, unreachable, timed out.
    case connectFailed(address: String, reason: String)
    /// Connect, TLS and the `init` dialogue together took longer than twice `connect_timeout`.
    case setupTooSlow(connectTimeout: Duration)
    /// The agent broke the `init` dialogue.
    case handshake(HandshakeError)
    /// The oldest request in flight got no reply within `request_timeout`.
    case requestTimedOut(Duration)
    /// The peer sent a line with no request outstanding: it cannot be matched to anything.
    case unsolicitedLine(String)
    /// The peer closed the connection.
    case closedByPeer
    /// The transport failed (TLS error, over-long line, socket error).
    case transport(String)

    public var description: String {
        switch self {
        case .connectFailed(let address, let reason):
            "connect to \(address): \(reason)"
        case .setupTooSlow(let connectTimeout):
            "the connection and handshake did not finish within \(connectTimeout)"
        case .handshake(let error):
            error.description
        case .requestTimedOut(let timeout):
            "a request got no reply within \(timeout): link reset"
        case .unsolicitedLine(let line):
            "the peer sent '\(line.prefix(40))' with no request outstanding"
        case .closedByPeer:
            "the peer closed the connection"
        case .transport(let reason):
            reason
        }
    }
}

/// The agent answered the `init` dialogue wrongly (see `WireProtocol` for the
/// four steps). Each case keeps the first 40 characters of what it sent.
public enum HandshakeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not 32 hex digits after `init`.
    case badChallenge(got: String)
    /// Not `ok` after our echo of the challenge.
    case echoRefused(got: String)
    /// Not `ok` after `sethost:<id>`: we reached another server.
    case wrongHost(peerID: String, address: String, got: String)
    /// Not `version:<v>` after ours.
    case badVersion(got: String)

    public var description: String {
        switch self {
        case .badChallenge(let got):
            "handshake: expected a 32-character challenge after init, got '\(got)'"
        case .echoRefused(let got):
            "handshake: the agent answered '\(got)' to the challenge echo"
        case .wrongHost(let peerID, let address, let got):
            "handshake: the agent at \(address) is not '\(peerID)' (it answered '\(got)' to sethost)"
        case .badVersion(let got):
            "handshake: expected version:<v>, got '\(got)'"
        }
    }
}

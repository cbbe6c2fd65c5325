import COpenSSL

/// A TLS failure, with OpenSSL's reason.
public enum TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file (CA, certificate, key) could not be loaded.
    case cannotLoad(file: String, what: String, reason: String)
    /// The certificate and key do not belong together.
    case keyMismatch(certificate: String, key: String)
    /// The handshake failed.
    case handshakeFailed(reason: String)
    /// Reading or writing failed after the handshake.
    case ioFailed(reason: String)
    /// The peer tried to renegotiate; refused.
    case renegotiationRefused
    /// The connection closed before the handshake finished.
    case closedDuringHandshake
    /// A certificate could not be made (`balancerd certs`).
    case cannotIssue(reason: String)

    public var description: String {
        switch self {
        case .cannotLoad(let file, let what, let reason): "cannot load the \(what) \(file): \(reason)"
        case .keyMismatch(let certificate, let key): "the key \(key) does not belong to the certificate \(certificate)"
        case .handshakeFailed(let reason): "TLS handshake failed: \(reason)"
        case .ioFailed(let reason): "TLS error: \(reason)"
        case .renegotiationRefused: "TLS renegotiation refused"
        case .closedDuringHandshake: "the connection closed during the TLS handshake"
        case .cannotIssue(let reason): "cannot make the certificate: \(reason)"
        }
    }

    /// Drains OpenSSL's error queue into one sentence.
    static func openSSLReasons() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.isEmpty ? "no reason given by OpenSSL" : reasons.joined(separator: "; ")
    }
}

import COpenSSL
import CShims
import NIOCore

/// Mutual TLS through the system OpenSSL (docs/REFERENCE.md, "Wire protocol"): TLS 1.2
/// or later (1.3 preferred), both sides present certificates signed by
/// `tls.ca`; the client checks the agent's certificate names the hostname it
/// dialled; the agent reports the client's names for the hosts-table mapping.
public final class OpenSSLTransport: TransportSecurity, @unchecked Sendable {
    // SSL_CTX is safe to share once configured; it is never changed after init.
    private let serverContext: SSLContextHandle
    private let clientContext: SSLContextHandle

    /// Loads the CA, certificate and key; errors name the file and OpenSSL's reason.
    public init(caPath: String, certificatePath: String, keyPath: String) throws(TLSError) {
        serverContext = try SSLContextHandle(server: true, caPath: caPath, certificatePath: certificatePath, keyPath: keyPath)
        clientContext = try SSLContextHandle(server: false, caPath: caPath, certificatePath: certificatePath, keyPath: keyPath)
    }

    public func clientHandlers(serverHostname: String) throws -> [any ChannelHandler] {
        [try OpenSSLHandler(context: clientContext, serverHostname: serverHostname)]
    }

    public func serverHandlers() throws -> [any ChannelHandler] {
        [try OpenSSLHandler(context: serverContext, serverHostname: nil)]
    }
}

/// Owns an `SSL_CTX`.
final class SSLContextHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    let isServer: Bool

    init(server: Bool, caPath: String, certificatePath: String, keyPath: String) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) else {
            throw .cannotLoad(file: certificatePath, what: "TLS context for", reason: TLSError.openSSLReasons())
        }
        pointer = context
        isServer = server
        _ = balancerd_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION)
        balancerd_SSL_CTX_harden(context)
        guard SSL_CTX_load_verify_locations(context, caPath, nil) == 1 else {
            throw .cannotLoad(file: caPath, what: "CA certificate (tls.ca)", reason: TLSError.openSSLReasons())
        }
        guard SSL_CTX_use_certificate_chain_file(context, certificatePath) == 1 else {
            throw .cannotLoad(file: certificatePath, what: "certificate (tls.cert)", reason: TLSError.openSSLReasons())
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyPath, SSL_FILETYPE_PEM) == 1 else {
            let reason = TLSError.openSSLReasons()
            if reason.contains("key values mismatch") { throw .keyMismatch(certificate: certificatePath, key: keyPath) }
            throw .cannotLoad(file: keyPath, what: "private key (tls.key)", reason: reason)
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            ERR_clear_error()
            throw .keyMismatch(certificate: certificatePath, key: keyPath)
        }
        let verify = server ? (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) : SSL_VERIFY_PEER
        SSL_CTX_set_verify(context, verify, nil)
        if server {
            // Ask clients for certificates issued by our CA.
            if let names = SSL_load_client_CA_file(caPath) { SSL_CTX_set_client_CA_list(context, names) }
        }
    }

    deinit { SSL_CTX_free(pointer) }
}

import COpenSSL
import CShims
import NIOCore

/// One OpenSSL `SSL` object with a memory BIO on each side; freed in deinit.
/// Knows nothing of channels: the handler feeds it bytes and takes bytes out.
final class SSLConnection {
    enum HandshakeResult { case complete, wantsMore, failed(TLSError) }
    enum ReadResult { case data, wantsMore, closedByPeer, failed(TLSError) }

    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private let context: SSLContextHandle

    init(context: SSLContextHandle, serverHostname: String?) throws(TLSError) {
        self.context = context
        guard let ssl = SSL_new(context.pointer), let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            throw .handshakeFailed(reason: TLSError.openSSLReasons())
        }
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        SSL_set_bio(ssl, readBIO, writeBIO)
        if let serverHostname {
            SSL_set_connect_state(ssl)
            _ = balancerd_SSL_set_tlsext_host_name(ssl, serverHostname)
            // The agent's certificate must name the host we dialled.
            guard SSL_set1_host(ssl, serverHostname) == 1 else { throw .handshakeFailed(reason: TLSError.openSSLReasons()) }
        } else {
            SSL_set_accept_state(ssl)
        }
    }

    deinit { SSL_free(ssl) }  // also frees both BIOs

    /// Hands bytes from the socket to OpenSSL.
    func consumeCiphertext(_ buffer: inout ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            _ = BIO_write(readBIO, base, Int32(bytes.count))
        }
    }

    /// Bytes OpenSSL wants sent, if any.
    func takeCiphertext(allocator: ByteBufferAllocator) -> ByteBuffer? {
        let pending = Int(balancerd_BIO_pending(writeBIO))
        guard pending > 0 else { return nil }
        var buffer = allocator.buffer(capacity: pending)
        let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { bytes in
            Int(max(0, BIO_read(writeBIO, bytes.baseAddress, Int32(pending))))
        }
        return read > 0 ? buffer : nil
    }

    func doHandshake() -> HandshakeResult {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .complete }
        let error = SSL_get_error(ssl, result)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return .wantsMore }
        var reason = TLSError.openSSLReasons()
        let verify = String(cString: balancerd_ssl_verify_result(ssl))
        if verify != "ok" { reason += " (certificate: \(verify))" }
        return .failed(.handshakeFailed(reason: reason))
    }

    func read(into buffer: inout ByteBuffer, maximum: Int) -> ReadResult {
        ERR_clear_error()
        var result: Int32 = 0
        _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maximum) { bytes in
            result = SSL_read(ssl, bytes.baseAddress, Int32(maximum))
            return Int(max(0, result))
        }
        if result > 0 { return .data }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wantsMore
        case SSL_ERROR_ZERO_RETURN: return .closedByPeer
        default: return .failed(.ioFailed(reason: TLSError.openSSLReasons()))
        }
    }

    /// Encrypts `buffer` into the write BIO (a memory BIO takes everything at once).
    func write(_ buffer: ByteBuffer) -> TLSError? {
        guard buffer.readableBytes > 0 else { return nil }
        ERR_clear_error()
        let result = buffer.withUnsafeReadableBytes { bytes in SSL_write(ssl, bytes.baseAddress, Int32(bytes.count)) }
        return result > 0 ? nil : .ioFailed(reason: TLSError.openSSLReasons())
    }

    /// Queues close_notify.
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// What the handshake established: protocol, cipher and the peer certificate's names.
    func establishedEvent() -> TransportEstablished {
        let version = String(cString: SSL_get_version(ssl))
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) }
        var names: [String] = []
        if let certificate = SSL_get1_peer_certificate(ssl) {
            defer { X509_free(certificate) }
            var buffer = [CChar](repeating: 0, count: 4096)
            _ = balancerd_x509_names(certificate, &buffer, buffer.count)
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            names = text.split(separator: "\n").map(String.init)
        }
        return TransportEstablished(protocolVersion: version, cipher: cipher, peerCertificateNames: names)
    }
}

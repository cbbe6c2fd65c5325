import COpenSSL
import Foundation

/// Makes the cluster's certificates with OpenSSL (`balancerd certs`, the demo,
/// tests): a self-signed CA, and per host an ECDSA P-256 key and a
/// certificate whose SAN and CN are the host's hostname, usable for both
/// sides of a link. Keys are written with mode 0600 through a temporary file,
/// fsync and rename, so a crash never leaves half a key.
public enum ClusterCertificateAuthority {
    /// Writes `ca.pem` and `ca.key` into `directory`; returns their paths.
    @discardableResult
    public static func create(directory: String, commonName: String = "balancerd cluster CA", days: Int = 3650) throws(TLSError) -> (certificate: String, key: String) {
        try make(subject: commonName, signedBy: nil, days: days, into: (directory + "/ca.pem", directory + "/ca.key"), extensions: [
            (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
            (NID_key_usage, "critical,keyCertSign,cRLSign"),
            (NID_subject_key_identifier, "hash"),
        ])
    }

    /// Writes `<id>.pem` and `<id>.key` for a host, signed by the CA in `caDirectory`.
    @discardableResult
    public static func issue(id: String, hostname: String, caDirectory: String, into directory: String, days: Int = 825) throws(TLSError) -> (certificate: String, key: String) {
        let caCertificate = try readCertificate(caDirectory + "/ca.pem")
        defer { X509_free(caCertificate) }
        let caKey = try readKey(caDirectory + "/ca.key")
        defer { EVP_PKEY_free(caKey) }
        return try make(subject: hostname, signedBy: (caCertificate, caKey), days: days, into: (directory + "/\(id).pem", directory + "/\(id).key"), extensions: [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "serverAuth,clientAuth"),
            (NID_subject_alt_name, "DNS:\(hostname)"),
            (NID_authority_key_identifier, "keyid"),
        ])
    }

    /// A new key and a certificate for it, signed by `issuer` (nil: by the new key
    /// itself, a CA's), written to `paths` (the key mode 0600); returns the paths.
    private static func make(
        subject: String, signedBy issuer: (certificate: OpaquePointer, key: OpaquePointer)?, days: Int, into paths: (String, String),
        extensions: [(Int32, String)]
    ) throws(TLSError) -> (certificate: String, key: String) {
        let key = try makeKey()
        defer { EVP_PKEY_free(key) }
        guard let certificate = X509_new() else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
        defer { X509_free(certificate) }
        try fill(certificate, subject: subject, key: key, issuer: issuer?.certificate, issuerKey: issuer?.key ?? key, days: days, extensions: extensions)
        try write(pem: try pem(certificate: certificate), to: paths.0, mode: 0o644)
        try write(pem: try pem(key: key), to: paths.1, mode: 0o600)
        return paths
    }

    // MARK: - OpenSSL steps

    private static func makeKey() throws(TLSError) -> OpaquePointer {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_group_name(context, "P-256") == 1,
            EVP_PKEY_generate(context, &key) == 1, let key
        else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
        return key
    }

    private static func fill(
        _ certificate: OpaquePointer, subject: String, key: OpaquePointer, issuer: OpaquePointer?, issuerKey: OpaquePointer,
        days: Int, extensions: [(Int32, String)]
    ) throws(TLSError) {
        var serial = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&serial, Int32(serial.count)) == 1 else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
        serial[0] &= 0x7F
        guard let number = BN_bin2bn(serial, Int32(serial.count), nil) else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
        defer { BN_free(number) }
        guard X509_set_version(certificate, 2) == 1, BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != nil,
            X509_gmtime_adj(X509_getm_notBefore(certificate), -300) != nil,
            X509_gmtime_adj(X509_getm_notAfter(certificate), days * 86400) != nil,
            X509_set_pubkey(certificate, key) == 1
        else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
        guard let name = X509_get_subject_name(certificate),
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, subject, -1, -1, 0) == 1
        else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
        let issuerName = issuer.flatMap { X509_get_subject_name($0) } ?? name
        guard X509_set_issuer_name(certificate, issuerName) == 1 else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer ?? certificate, certificate, nil, nil, 0)
        for (nid, value) in extensions {
            guard let extensionValue = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw .cannotIssue(reason: "extension \(value): \(TLSError.openSSLReasons())")
            }
            defer { X509_EXTENSION_free(extensionValue) }
            guard X509_add_ext(certificate, extensionValue, -1) == 1 else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
        }
        guard X509_sign(certificate, issuerKey, EVP_sha256()) > 0 else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
    }

    private static func pem(certificate: OpaquePointer) throws(TLSError) -> [UInt8] {
        try withMemoryBIO { PEM_write_bio_X509($0, certificate) == 1 }
    }

    private static func pem(key: OpaquePointer) throws(TLSError) -> [UInt8] {
        try withMemoryBIO { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) == 1 }
    }

    private static func withMemoryBIO(_ write: (OpaquePointer) -> Bool) throws(TLSError) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
        defer { BIO_free(bio) }
        guard write(bio) else { throw .cannotIssue(reason: TLSError.openSSLReasons()) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = BIO_read(bio, &chunk, Int32(chunk.count))
            if count <= 0 { break }
            bytes += chunk[..<Int(count)]
        }
        return bytes
    }

    private static func readCertificate(_ path: String) throws(TLSError) -> OpaquePointer {
        try readPEM(path, what: "CA certificate") { PEM_read_bio_X509($0, nil, nil, nil) }
    }

    private static func readKey(_ path: String) throws(TLSError) -> OpaquePointer {
        try readPEM(path, what: "CA key") { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
    }

    /// The first PEM object `read` finds in the file at `path`.
    private static func readPEM(_ path: String, what: String, _ read: (OpaquePointer) -> OpaquePointer?) throws(TLSError) -> OpaquePointer {
        let bio = BIO_new_file(path, "r")
        defer { if let bio { BIO_free(bio) } }
        guard let bio, let object = read(bio) else { throw .cannotLoad(file: path, what: what, reason: TLSError.openSSLReasons()) }
        return object
    }

    /// Temporary name, fsync, rename, fsync of the folder: all or nothing.
    /// The temporary file is new (`O_EXCL`, a random name: nothing planted at a
    /// guessable name is written through, a symbolic link included) and gets
    /// its mode from `fchmod` on the open file before a byte of the key is in
    /// it, whatever the umask, which is process-wide and never changed here.
    private static func write(pem: [UInt8], to path: String, mode: mode_t) throws(TLSError) {
        let temporary = path + ".tmp-\(getpid())-\(String(UInt64.random(in: .min ... .max), radix: 16))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0o600)
        guard descriptor >= 0 else { throw .cannotIssue(reason: "\(temporary): \(String(cString: strerror(errno)))") }
        let moded = fchmod(descriptor, mode)
        let written = moded == 0 ? pem.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) } : -1
        let synced = fsync(descriptor)
        close(descriptor)
        guard moded == 0, written == pem.count, synced == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .cannotIssue(reason: "\(path): \(reason)")
        }
        let folder = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }
}

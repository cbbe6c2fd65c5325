import COpenSSL
import CShims
import Foundation

/// What `balancerd check` (and every start and reload) finds wrong with a TLS
/// set-up that OpenSSL alone would accept: loading the key and certificate
/// only proves they belong together, not that the certificate comes from the
/// cluster's CA, names this server, or is still valid. Each of these makes
/// every peer refuse the links later, far from the cause; here they are
/// found at once, with the file and the reason.
public struct CertificateInspection: Sendable, Equatable {
    /// When the own certificate (`tls.cert`) stops being valid.
    public var certificateNotAfter: Date
    /// When the CA certificate (`tls.ca`) stops being valid.
    public var caNotAfter: Date
    /// Mistakes that make the set-up unusable.
    public var problems: [CertificateProblem]
    /// Things that will become mistakes soon (an expiry within the warning window).
    public var warnings: [CertificateProblem]

    /// How close an expiry must be for a warning: 30 days.
    public static let expiryWarning: TimeInterval = 30 * 86400

    /// Loads the set-up as the daemon does (`OpenSSLTransport`), then checks the
    /// certificate against the CA and `hostname` (host_id's hostname in the hosts table).
    public static func inspect(caPath: String, certificatePath: String, keyPath: String, hostname: String?, now: Date = Date()) throws(TLSError) -> CertificateInspection {
        var problems: [CertificateProblem] = []
        do {
            _ = try OpenSSLTransport(caPath: caPath, certificatePath: certificatePath, keyPath: keyPath)
        } catch {
            problems.append(.unusable(error))
        }
        let certificate = try X509Certificate(path: certificatePath, what: "certificate (tls.cert)")
        let ca = try X509Certificate(path: caPath, what: "CA certificate (tls.ca)")
        if let reason = certificate.verificationFailure(caPath: caPath) {
            problems.append(.notIssuedByCA(certificate: certificatePath, ca: caPath, reason: reason))
        }
        if let hostname, !certificate.names(hostname) {
            problems.append(.hostnameNotNamed(certificate: certificatePath, hostname: hostname, names: certificate.names))
        }
        var warnings: [CertificateProblem] = []
        for (path, what, notAfter) in [(certificatePath, "certificate", certificate.notAfter), (caPath, "CA certificate", ca.notAfter)]
        where notAfter > now && notAfter.timeIntervalSince(now) < expiryWarning {
            warnings.append(.expiresSoon(file: path, what: what, notAfter: notAfter, now: now))
        }
        return CertificateInspection(certificateNotAfter: certificate.notAfter, caNotAfter: ca.notAfter, problems: problems, warnings: warnings)
    }

    /// The notAfter dates only, for the expiry metric.
    public static func expiry(caPath: String, certificatePath: String) throws(TLSError) -> (certificate: Date, ca: Date) {
        (try X509Certificate(path: certificatePath, what: "certificate (tls.cert)").notAfter,
         try X509Certificate(path: caPath, what: "CA certificate (tls.ca)").notAfter)
    }
}

/// One thing wrong with the TLS files.
public enum CertificateProblem: Sendable, Equatable, CustomStringConvertible {
    /// OpenSSL refused to load the set-up (unreadable file, key that does not belong to the certificate).
    case unusable(TLSError)
    /// The certificate does not verify against the CA.
    case notIssuedByCA(certificate: String, ca: String, reason: String)
    /// The certificate does not name this server's hostname, so every peer refuses it.
    case hostnameNotNamed(certificate: String, hostname: String, names: [String])
    /// The certificate expires within the warning window.
    case expiresSoon(file: String, what: String, notAfter: Date, now: Date)

    public var description: String {
        switch self {
        case .unusable(let error):
            "\(error)"
        case .notIssuedByCA(let certificate, let ca, let reason):
            "the certificate \(certificate) is not issued by the CA \(ca) (\(reason)): every peer would refuse this server; issue it again with `balancerd certs issue`"
        case .hostnameNotNamed(let certificate, let hostname, let names):
            "the certificate \(certificate) names \(names.isEmpty ? "no host" : names.joined(separator: ", ")), not \(hostname) (host_id's hostname in the hosts table): every peer would refuse this server"
        case .expiresSoon(let file, let what, let notAfter, let now):
            "the \(what) \(file) expires on \(Self.format(notAfter)), in \(Int(notAfter.timeIntervalSince(now) / 86400)) days; renew it before then"
        }
    }

    private static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// Owns an `X509` read from a PEM file.
final class X509Certificate {
    private let pointer: OpaquePointer
    let path: String

    init(path: String, what: String) throws(TLSError) {
        ERR_clear_error()
        guard let bio = BIO_new_file(path, "r") else { throw .cannotLoad(file: path, what: what, reason: TLSError.openSSLReasons()) }
        defer { BIO_free(bio) }
        guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else {
            throw .cannotLoad(file: path, what: what, reason: TLSError.openSSLReasons())
        }
        pointer = certificate
        self.path = path
    }

    deinit { X509_free(pointer) }

    /// The end of the validity period.
    var notAfter: Date {
        var time = tm()
        guard let asn1 = X509_get0_notAfter(pointer), ASN1_TIME_to_tm(asn1, &time) == 1 else { return .distantPast }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&time)))
    }

    /// The SAN DNS names and the CN.
    var names: [String] {
        var buffer = [CChar](repeating: 0, count: 4096)
        _ = balancerd_x509_names(pointer, &buffer, buffer.count)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var seen = Set<String>()
        // The CN usually repeats the SAN: each name once, in the certificate's order.
        return text.split(separator: "\n").map(String.init).filter { seen.insert($0.lowercased()).inserted }
    }

    /// True when the certificate names `hostname` as a client checks it (`SSL_set1_host`).
    func names(_ hostname: String) -> Bool {
        X509_check_host(pointer, hostname, hostname.utf8.count, 0, nil) == 1
    }

    /// Why the certificate does not verify against the CA file, or nil when it does.
    func verificationFailure(caPath: String) -> String? {
        ERR_clear_error()
        guard let store = X509_STORE_new() else { return TLSError.openSSLReasons() }
        defer { X509_STORE_free(store) }
        guard X509_STORE_load_file(store, caPath) == 1 else { return "cannot load \(caPath): \(TLSError.openSSLReasons())" }
        guard let context = X509_STORE_CTX_new() else { return TLSError.openSSLReasons() }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, pointer, nil) == 1 else { return TLSError.openSSLReasons() }
        if X509_verify_cert(context) == 1 { return nil }
        let reason = String(cString: X509_verify_cert_error_string(Int(X509_STORE_CTX_get_error(context))))
        ERR_clear_error()
        return reason
    }
}

import Foundation
import Lonc
import Testing
import BalancerdCore

/// `check` catches what `serve` would refuse or, worse, start with: the TLS
/// set-up as the daemon loads it, the load sources, and folders the shipped
/// unit hides. Real certificates, made with OpenSSL as `balancerd certs` does.
@Suite("balancerd check: TLS set-up, load sources, sandbox")
struct ConfigChecksTests {
    @Test("a key that does not belong to the certificate is an error on tls.key")
    func keyMismatch() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try ClusterCertificateAuthority.issue(id: "other", hostname: "agrajag.lite.msu.edu", caDirectory: fixture.directory.path, into: fixture.directory.path)
        let problems = fixture.problems(ConfigFixture.valid.replacingOccurrences(of: "key: msua1.key", with: "key: other.key"))
        #expect(problems.count == 1)
        #expect(problems.first?.key == "tls.key")
        #expect(problems.first?.message.contains("other.key does not belong to the certificate") == true)
    }

    @Test("a certificate from another CA is an error on tls.cert naming the CA and OpenSSL's reason")
    func otherCA() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        let elsewhere = fixture.directory.appendingPathComponent("elsewhere").path
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try ClusterCertificateAuthority.create(directory: elsewhere)
        try ClusterCertificateAuthority.issue(id: "msua1", hostname: "agrajag.lite.msu.edu", caDirectory: elsewhere, into: elsewhere)
        let problems = fixture.problems(ConfigFixture.valid.replacingOccurrences(of: "cert: msua1.pem", with: "cert: elsewhere/msua1.pem")
            .replacingOccurrences(of: "key: msua1.key", with: "key: elsewhere/msua1.key"))
        #expect(problems.map(\.key) == ["tls.cert"])
        #expect(problems.first?.message.contains("is not issued by the CA \(fixture.directory.path)/ca.pem (unable to get local issuer certificate)") == true)
    }

    @Test("a certificate that does not name host_id's hostname is an error naming both")
    func wrongHostname() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try ClusterCertificateAuthority.issue(id: "msua1", hostname: "bistromath.lite.msu.edu", caDirectory: fixture.directory.path, into: fixture.directory.path)
        let problems = fixture.problems(ConfigFixture.valid)
        #expect(problems.map(\.key) == ["tls.cert"])
        #expect(problems.first?.message.contains("names bistromath.lite.msu.edu, not agrajag.lite.msu.edu (host_id's hostname in the hosts table)") == true)
    }

    @Test("a certificate expiring within 30 days is a warning; a good set-up has none")
    func expirySoon() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        #expect(try fixture.load(ConfigFixture.valid).warnings.filter { $0.key?.hasPrefix("tls.") == true }.isEmpty)
        try ClusterCertificateAuthority.issue(id: "msua1", hostname: "agrajag.lite.msu.edu", caDirectory: fixture.directory.path, into: fixture.directory.path, days: 10)
        let warnings = try fixture.load(ConfigFixture.valid).warnings.filter { $0.key == "tls.cert" }
        #expect(warnings.count == 1)
        #expect(warnings.first?.message.contains("expires on") == true)
        #expect(warnings.first?.message.contains("in 9 days") == true)
    }

    @Test("a missing sessions folder or load file is a warning naming the key and what it means")
    func loadSources() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        let warnings = try fixture.load(ConfigFixture.valid + "\nagent: {sessions_dir: gone, load_file: nothere}").warnings
        let sessions = try #require(warnings.first { $0.key == "agent.sessions_dir" })
        #expect(sessions.message == "cannot list sessions in \(fixture.directory.path)/gone: No such file or directory: userload will be unknown, and this server is never chosen as a spare")
        let load = try #require(warnings.first { $0.key == "agent.load_file" })
        #expect(load.message.hasPrefix("cannot read load averages from \(fixture.directory.path)/nothere"))
    }

    @Test("a folder under /home, /root or /run/user is a warning: the shipped unit hides it", arguments: ["/home/lonc/sessions", "/root/sessions", "/run/user/1000/s"])
    func protectHome(path: String) throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        let warnings = try fixture.load(ConfigFixture.valid + "\nagent: {sessions_dir: \(path)}").warnings
        #expect(warnings.contains { $0.key == "agent.sessions_dir" && $0.message.contains("which the shipped systemd unit hides (ProtectHome=yes)") })
        let clean = try fixture.load(ConfigFixture.valid + "\nagent: {sessions_dir: /var/lib/sessions}").warnings
        #expect(!clean.contains { $0.message.contains("ProtectHome") })
    }
}

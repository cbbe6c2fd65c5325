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

    /// Found by review: the README had the web server join the daemon's group
    /// for the relay sockets, the group that also read the key and wrote state.
    @Test("the relay sockets' group reading tls.key or writing delayed/ is a warning naming the path, the group and what its members can do")
    func relayGroupSeparate() throws {
        guard getuid() == 0 else { return }  // chgrp to another group needs root; CI runs as root
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        let group = try #require(getgrnam("nogroup")).pointee.gr_gid
        let key = fixture.directory.appendingPathComponent("msua1.key").path
        let state = fixture.directory.appendingPathComponent("state").path
        try FileManager.default.createDirectory(atPath: state + "/delayed", withIntermediateDirectories: true)
        let config = ConfigFixture.valid + "\nsocket_group: nogroup\nstate_dir: state"
        #expect(try fixture.load(config).warnings.filter { $0.message.contains("socket_group") }.isEmpty, "0600 key, 0755 state: nothing to say")
        #expect(chown(key, uid_t.max, group) == 0 && chmod(key, 0o640) == 0)
        #expect(chown(state + "/delayed", uid_t.max, group) == 0 && chmod(state + "/delayed", 0o770) == 0)
        let warnings = try fixture.load(config).warnings.filter { $0.message.contains("socket_group") }
        #expect(warnings.map(\.key) == ["tls.key", "state_dir"])
        #expect(warnings.first?.message.hasPrefix("\(key) is group nogroup with mode 640, and the relay sockets belong to that group (socket_group): every local relay client can read this server's TLS key") == true)
        #expect(warnings.last?.message.contains("drop critical messages into delayed/") == true)
        // A group of their own for the relay sockets: nothing shared.
        #expect(try fixture.load(ConfigFixture.valid + "\nsocket_group: root\nstate_dir: state").warnings.filter { $0.message.contains("socket_group") }.isEmpty)
    }
}

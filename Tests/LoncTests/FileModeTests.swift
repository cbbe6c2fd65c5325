import Foundation
import NIOCore
import Testing
import TestSupport
@testable import Lonc

/// How the daemon's sockets and the CA's keys get their modes: never through
/// the process-wide umask, never through a file planted at a guessable name.
@Suite("socket and key files: modes without the umask, no planted files followed", .serialized)
struct FileModeTests {
    func currentUmask() -> mode_t {
        let mask = umask(0o022)
        umask(mask)
        return mask
    }

    /// Found by review: each bind set the umask and restored it after an
    /// `await`, so binds running at once (the control socket at 0600 and the
    /// relay sockets at 0660) left it at one of their masks.
    @Test("binding sockets at once, with different modes, never changes the process umask; each socket gets its mode")
    func umaskUntouched() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path
        let before = umask(0o022)
        defer { umask(before) }
        let modes: [mode_t] = [0o600, 0o660, 0o640, 0o666]
        for round in 0..<20 {
            let channels = try await withThrowingTaskGroup(of: (any Channel).self) { group in
                for (index, mode) in modes.enumerated() {
                    group.addTask {
                        try await UnixSocketListener.bind(path: "\(path)/s\(round)-\(index)", mode: mode, maxLine: 64, group: AgentFixture.group) {
                            MessageToByteHandler(LineEncoder())
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(currentUmask() == 0o022, "round \(round)")
            for channel in channels { try await channel.close() }
        }
        for (index, mode) in modes.enumerated() {
            var info = stat()
            #expect(lstat("\(path)/s0-\(index)", &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK && info.st_mode & 0o777 == mode)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).allSatisfy { !$0.hasPrefix(".bind-") }, "no staging folder left")
    }

    /// Found by review: the key went to `<path>.tmp-<pid>`, opened without
    /// O_EXCL or O_NOFOLLOW, so a link planted there received the CA's key.
    @Test("certs init writes the CA key through a new file of its own: a link planted at the old temporary name is not followed")
    func caKeyNotWrittenThroughALink() throws {
        let folder = try TemporaryFolder()
        let path = folder.path
        let target = path + "/planted-target"
        try "nothing here\n".write(toFile: target, atomically: true, encoding: .utf8)
        chmod(target, 0o644)
        #expect(symlink(target, path + "/ca.key.tmp-\(getpid())") == 0)
        try ClusterCertificateAuthority.create(directory: path)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "nothing here\n", "the key was written through the link")
        var info = stat()
        #expect(lstat(path + "/ca.key", &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && info.st_mode & 0o777 == 0o600)
        #expect(lstat(path + "/ca.pem", &info) == 0 && info.st_mode & 0o777 == 0o644)
    }
}

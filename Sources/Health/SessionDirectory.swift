import Foundation
import Lonc

/// Counts active sessions: regular files in a folder modified within a window
/// (LON-CAPA keeps one file per session and touches it on every request).
///
/// Uses `opendir`/`readdir` and `fstatat` directly, so 10,000 sessions cost one
/// system call each and no Foundation objects.
public struct SessionDirectory: Sendable {
    /// The folder.
    public let path: String
    /// How recently a file must have been modified to count.
    public let activeWindow: Duration

    /// Creates a counter.
    public init(path: String, activeWindow: Duration) {
        self.path = path
        self.activeWindow = activeWindow
    }

    /// The number of files modified within the window before `now` (seconds since 1970).
    public func activeSessions(now: Double = Date().timeIntervalSince1970) throws(LoadSourceError) -> Int {
        guard let directory = opendir(path) else {
            throw .sessionsUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { closedir(directory) }
        let descriptor = dirfd(directory)
        let cutoff = now - activeWindow.secondsValue
        var count = 0
        while let entry = readdir(directory) {
            let isCandidate = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { name -> Bool in
                    // Skip "." and "..", and anything starting with a dot (editor and tool leftovers).
                    name[0] != 0x2E
                }
            }
            guard isCandidate else { continue }
            var info = stat()
            let status = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { fstatat(descriptor, $0, &info, AT_SYMLINK_NOFOLLOW) }
            }
            guard status == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            if modified >= cutoff { count += 1 }
        }
        return count
    }
}

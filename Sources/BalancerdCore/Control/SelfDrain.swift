import Foundation

/// This server drained for HAProxy: `<state_dir>/self-drain`, whose presence
/// means drained and whose text is the reason, for whoever looks (`balancerd self-drain`). A file
/// of its own, not an entry in `drains.json`: that file is `serve`'s (the
/// peers it drains), rewritten from its memory, and `balancerd agent` often
/// runs without a `serve` beside it. `touch` and `rm` work too.
public struct SelfDrain: Sendable {
    public let path: String

    public init(stateDirectory: String) {
        path = stateDirectory + "/self-drain"
    }

    /// True while drained: decided by the file's presence (`lstat`), never by
    /// reading it, so a file the agent cannot read (written by root under
    /// umask 077), a directory or a dangling symlink still drains. When even
    /// presence cannot be told (`state_dir` not searchable), drained: a drain
    /// that cannot be seen must not read as "send me logins".
    public var isDrained: Bool {
        var info = stat()
        return lstat(path, &info) == 0 || errno != ENOENT
    }

    /// Drains this server: HAProxy's next agent check gets `drain`.
    public func drain(reason: String) throws(SelfDrainError) {
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data((reason + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SelfDrainError(path: path, reason: error.localizedDescription)
        }
    }

    /// Undrains; returns false when it was not drained.
    @discardableResult
    public func undrain() throws(SelfDrainError) -> Bool {
        guard unlink(path) == 0 else {
            if errno == ENOENT { return false }
            throw SelfDrainError(path: path, reason: String(cString: strerror(errno)))
        }
        return true
    }
}

/// The self-drain file could not be written or removed.
public struct SelfDrainError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

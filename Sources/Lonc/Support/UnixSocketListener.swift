import Foundation
import NIOCore
import NIOPosix

/// Listens on a UNIX stream socket for line-based clients: the relay's
/// per-peer sockets and the control socket.
///
/// The socket is created under a umask that already gives it `mode`, so it
/// never exists with wider permissions, even for the instant between `bind`
/// and `chmod`. A socket file left by a killed run is replaced; anything else
/// at the path (a regular file, a folder) is not ours to delete and is an error.
public enum UnixSocketListener {
    /// Binds `path` (creating its folder), frames lines of at most `maxLine`
    /// bytes, and puts the handler `makeHandler` builds at the top of each
    /// client's pipeline.
    public static func bind(
        path: String, mode: mode_t, maxLine: Int, group: any EventLoopGroup,
        makeHandler: @escaping @Sendable () -> any ChannelHandler
    ) async throws -> any Channel {
        try prepare(path)
        let previous = umask(0o777 & ~mode)
        defer { umask(previous) }
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addLineFraming(maximumLength: maxLine)
                    try sync.addHandler(makeHandler())
                }
            }
            .bind(unixDomainSocketPath: path)
            .get()
        chmod(path, mode)
        return channel
    }

    /// Creates the folder; removes a stale socket; refuses to remove anything that is not a socket.
    static func prepare(_ path: String) throws(UnixSocketError) {
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw .cannotCreateFolder(folder, reason: "\(error.localizedDescription)")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path) }
        unlink(path)
    }
}

/// Why a UNIX socket could not be set up.
public enum UnixSocketError: Error, Sendable, CustomStringConvertible {
    /// Something other than a socket is where the socket belongs.
    case notASocket(String)
    /// The socket's folder could not be made.
    case cannotCreateFolder(String, reason: String)

    public var description: String {
        switch self {
        case .notASocket(let path): "\(path) exists and is not a socket; not replacing it"
        case .cannotCreateFolder(let folder, let reason): "cannot create the socket folder \(folder): \(reason)"
        }
    }
}

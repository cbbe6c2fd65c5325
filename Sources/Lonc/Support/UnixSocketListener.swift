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
    /// client's pipeline. With `owner`, the socket and its folder go to that
    /// group (the folder keeps its mode: the group must be able to enter it).
    public static func bind(
        path: String, mode: mode_t, owner: SocketGroup? = nil, maxLine: Int, group: any EventLoopGroup,
        makeHandler: @escaping @Sendable () -> any ChannelHandler
    ) async throws -> any Channel {
        try prepare(path)
        if let owner { try owner.hand((path as NSString).deletingLastPathComponent) }
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
        do {
            try owner?.hand(path)
        } catch {
            try? await channel.close()
            throw error
        }
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

/// The group that local clients of the relay sockets belong to (`socket_group`,
/// e.g. `www-data`: lonc's clients were the web server's handlers).
public struct SocketGroup: Sendable, Equatable {
    /// The group's name, for messages.
    public var name: String
    /// Its id.
    public var id: gid_t

    /// The group called `name` on this machine; nil when there is none.
    public init?(named name: String) {
        guard let entry = getgrnam(name) else { return nil }
        self.name = name
        self.id = entry.pointee.gr_gid
    }

    /// Gives `path` to this group; its owner stays.
    func hand(_ path: String) throws(UnixSocketError) {
        var info = stat()
        if lstat(path, &info) == 0, info.st_gid == id { return }
        guard lchown(path, uid_t.max, id) == 0 else {
            throw .cannotChangeGroup(path, group: name, reason: String(cString: strerror(errno)))
        }
    }
}

/// Why a UNIX socket could not be set up.
public enum UnixSocketError: Error, Sendable, CustomStringConvertible {
    /// Something other than a socket is where the socket belongs.
    case notASocket(String)
    /// The socket's folder could not be made.
    case cannotCreateFolder(String, reason: String)
    /// The socket could not be given to `socket_group`.
    case cannotChangeGroup(String, group: String, reason: String)

    public var description: String {
        switch self {
        case .notASocket(let path): "\(path) exists and is not a socket; not replacing it"
        case .cannotCreateFolder(let folder, let reason): "cannot create the socket folder \(folder): \(reason)"
        case .cannotChangeGroup(let path, let group, let reason):
            "cannot give \(path) to group \(group) (socket_group): \(reason); the user running balancerd must be a member of \(group) (SupplementaryGroups=\(group) in its unit, or adduser balancerd \(group))"
        }
    }
}

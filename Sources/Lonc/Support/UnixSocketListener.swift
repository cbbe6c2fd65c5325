import Foundation
import NIOCore
import NIOPosix

/// Listens on a UNIX stream socket for line-based clients: the relay's
/// per-peer sockets and the control socket.
///
/// The socket is bound in a private folder beside its path (`mkdtemp`, mode
/// 0700), given its mode and group there, and only then renamed to its path,
/// so it never exists where clients look with wider permissions, not even
/// for the instant between `bind` and `chmod`. The process umask is never
/// touched: it is process-wide, and a bind is an `await`, during which other
/// threads create files (delayed messages, other sockets) that a narrowed or
/// interleaved umask would give the wrong mode. A socket file left by a killed
/// run is replaced; anything else at the path (a regular file, a folder) is
/// not ours to delete and is an error.
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
        let folder = (path as NSString).deletingLastPathComponent
        if let owner { try owner.hand(folder) }
        let staging = try stagingFolder(in: folder)
        defer { rmdir(staging) }
        let staged = staging + "/s"
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addLineFraming(maximumLength: maxLine)
                    try sync.addHandler(makeHandler())
                }
            }
            .bind(unixDomainSocketPath: staged)
            .get()
        do throws(UnixSocketError) {
            guard chmod(staged, mode) == 0 else { throw .cannotPlace(path, reason: "chmod: \(String(cString: strerror(errno)))") }
            try owner?.hand(staged)
            guard rename(staged, path) == 0 else { throw .cannotPlace(path, reason: "rename: \(String(cString: strerror(errno)))") }
        } catch {
            try? await channel.close()
            unlink(staged)
            throw error
        }
        return channel
    }

    /// A new folder only this user can enter, in `folder`, for a socket not yet in place.
    static func stagingFolder(in folder: String) throws(UnixSocketError) -> String {
        var template = Array((folder + "/.bind-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) } }
        guard let made else { throw .cannotCreateFolder(folder + "/.bind-XXXXXX", reason: String(cString: strerror(errno))) }
        return made
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
    /// The bound socket could not be given its mode or moved to its path.
    case cannotPlace(String, reason: String)

    public var description: String {
        switch self {
        case .notASocket(let path): "\(path) exists and is not a socket; not replacing it"
        case .cannotCreateFolder(let folder, let reason): "cannot create the socket folder \(folder): \(reason)"
        case .cannotPlace(let path, let reason): "cannot put the socket \(path) in place: \(reason)"
        case .cannotChangeGroup(let path, let group, let reason):
            "cannot give \(path) to group \(group) (socket_group): \(reason); the user running balancerd must be a member of \(group) (SupplementaryGroups=\(group) in its unit, or adduser balancerd \(group))"
        }
    }
}

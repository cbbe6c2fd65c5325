import Foundation
import Logging

/// Critical messages waiting for a peer, one file each in `<state_dir>/delayed/`
/// (docs/REFERENCE.md, "Local relay and delayed messages"):
///
///     001764019200.123456789.9f2c41d07a3be815.msua2   balancerd's own: <unix time>.<nanoseconds>.<instance>.<peer id>
///     anything-else.msua2                              dropped in by another tool (the seed's names)
///
/// Any regular file whose name ends in `.<peer id>` (and does not start with
/// `.`) is a message for that peer; `DelayedFileName` says how a name is read,
/// so that no id is ever taken for another. Order is modification time, then name.
/// balancerd's own files get a modification time above every file it has
/// seen, so a clock stepping back cannot reorder them, across restarts too;
/// their name is that time, so name order is sending order as well.
///
/// A name is also the message's id on the wire, and an application drops a
/// message whose id it has stored before, so a name is never used twice: the
/// instance part is random for each opening of the queue (each process), so
/// a restart on an emptied folder in the same second, or after the clock
/// stepped back, still makes new names.
/// A file is written under a temporary name, fsynced, renamed, and the folder
/// fsynced, so a crash leaves either no file or the whole message. A file that
/// cannot be read is moved to `delayed/bad/` with a log line and never blocks
/// the rest; a message the peer refused goes to `delayed/rejected/` beside a
/// `<name>.reply` file holding the peer's answer. Symbolic links are never
/// followed (listed with `lstat`, opened with `O_NOFOLLOW`): one is moved to
/// `bad/` as it is. A file that cannot be removed or moved once its fate is
/// known is held (`DelayedQueue+Files.swift`): logged once, never sent again
/// by this process, and left where it is.
public final class DelayedQueue: Sendable {
    /// `<state_dir>/delayed`.
    public let directory: String
    /// `<state_dir>/delayed/rejected`.
    public var rejectedDirectory: String { directory + "/rejected" }
    let logger: Logger
    /// The newest modification time handed out (or seen in the folder at opening).
    private let clock = Locked(FileStamp(seconds: 0, nanoseconds: 0))
    /// 64 random bits for this opening, in every name it makes: names stay unique across restarts.
    private let instance = String(UInt64.random(in: .min ... .max), radix: 16).leftPadded(to: 16)
    /// Messages waiting per peer, kept in memory so `depth` never lists the folder;
    /// re-synced from the folder on every `pending` scan.
    let counts = Locked<[String: Int]>([:])
    /// When `delayed/` was last listed (`folderChanged`).
    private let scans = Locked(FolderWatch())
    /// The files set aside in `bad/` and `rejected/`, counted off the HTTP threads (`setAside`).
    let setAsideCounts = Locked(SetAsideCounts())
    /// Files whose fate is known but that could not be removed or moved, by name.
    let held = Locked<[String: Held]>([:])

    /// A modification time, nanosecond precision.
    public struct FileStamp: Sendable, Equatable, Comparable {
        public var seconds: Int
        public var nanoseconds: Int
        public static func < (a: FileStamp, b: FileStamp) -> Bool { (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds) }
        init(seconds: Int, nanoseconds: Int) {
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }
        init(_ time: timespec) { self.init(seconds: Int(time.tv_sec), nanoseconds: Int(time.tv_nsec)) }
        /// One nanosecond later.
        var next: FileStamp { nanoseconds >= 999_999_999 ? FileStamp(seconds: seconds + 1, nanoseconds: 0) : FileStamp(seconds: seconds, nanoseconds: nanoseconds + 1) }
        var timespec: Glibc.timespec { Glibc.timespec(tv_sec: seconds, tv_nsec: nanoseconds) }
    }

    /// One queued message.
    public struct Entry: Sendable, Equatable, Comparable {
        /// The file name (also the message's id on the wire).
        public var name: String
        /// The peer it is for (`DelayedFileName.peer(of:)`).
        public var peer: String
        /// The file's modification time: the order of sending, then the name.
        public var modified: FileStamp

        public static func < (a: Entry, b: Entry) -> Bool { (a.modified, a.name) < (b.modified, b.name) }

        /// nil for hidden and temporary files (`.tmp-…`) and names without a peer.
        init?(name: String, modified: FileStamp) {
            guard let peer = DelayedFileName.peer(of: name) else { return nil }
            self.name = name
            self.peer = peer
            self.modified = modified
        }
    }

    /// Opens (and creates) `<stateDirectory>/delayed`, with `bad/` and `rejected/`.
    public init(stateDirectory: String, logger: Logger) throws(DelayedQueueError) {
        directory = stateDirectory + "/delayed"
        self.logger = logger
        for folder in [directory + "/bad", directory + "/rejected"] {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw .cannotStore(path: folder, reason: "cannot create the folder: \(error.localizedDescription)")
            }
        }
        let all = entries()
        let newest = all.map(\.modified).max() ?? FileStamp(seconds: 0, nanoseconds: 0)
        clock.withLock { $0 = newest }
        resync(all)
        recountSetAside()
    }

    /// Stores a message for `peer`; returns its entry. Throws when it cannot be made durable.
    @discardableResult
    public func store(peer: String, line: String) throws(DelayedQueueError) -> Entry {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let stamp = clock.withLock { clock in
            clock = max(clock.next, FileStamp(now))
            return clock
        }
        let name = DelayedFileName.make(seconds: stamp.seconds, nanoseconds: stamp.nanoseconds, instance: instance, peer: peer)
        let temporary = "\(directory)/.tmp-\(stamp.seconds).\(stamp.nanoseconds)-\(getpid())"
        let bytes = Array((line + "\n").utf8)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw .cannotStore(path: temporary, reason: String(cString: strerror(errno))) }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let writeError = errno
        // The modification time is the sending order: set it before the file is visible.
        let times = [stamp.timespec, stamp.timespec]
        let stamped = futimens(descriptor, times)
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, stamped == 0, synced == 0, rename(temporary, "\(directory)/\(name)") == 0 else {
            let reason = String(cString: strerror(written != bytes.count ? writeError : errno))
            unlink(temporary)
            throw .cannotStore(path: "\(directory)/\(name)", reason: reason)
        }
        syncDirectory(directory)
        guard let entry = Entry(name: name, modified: stamp) else { throw .cannotStore(path: name, reason: "peer id makes an unparsable name") }
        counts.withLock { $0[peer, default: 0] += 1 }
        return entry
    }

    /// The messages waiting for `peer` (or every peer), in sending order. Held
    /// files are not waiting: each scan tries their removal or move again.
    public func pending(peer: String? = nil) -> [Entry] {
        retryHeld()
        let all = entries()
        resync(all)
        return all.filter { peer == nil || $0.peer == peer }.sorted()
    }

    /// How many messages wait for `peer` (from memory; files dropped in by other tools count after the next scan).
    public func depth(peer: String) -> Int { counts.withLock { $0[peer] ?? 0 } }

    /// True when files may have been added to or removed from the folder since the
    /// last scan: its modification time moved, or the scan came within 2 s of the
    /// last change (the kernel stamps folders at clock-tick resolution, so a file
    /// dropped just after a scan can leave the stamp as it was). One `stat`, no listing.
    public func folderChanged() -> Bool {
        scans.withLock { $0.changed(directory) }
    }

    private func resync(_ all: [Entry]) {
        var fresh: [String: Int] = [:]
        for entry in all { fresh[entry.peer, default: 0] += 1 }
        counts.withLock { $0 = fresh }
    }

    /// Every message file in the folder: regular files only (`bad/` and
    /// `rejected/` are folders), by `lstat`, so a symbolic link is never
    /// followed; one with a message's name is moved to `bad/`. Held files are left out.
    private func entries() -> [Entry] {
        scans.withLock { $0.listed(directory) }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        let heldNames = held.withLock { Set($0.keys) }
        return names.compactMap { name in
            var info = stat()
            guard !heldNames.contains(name), lstat("\(directory)/\(name)", &info) == 0, let entry = Entry(name: name, modified: FileStamp(info.st_mtim)) else {
                return nil
            }
            switch info.st_mode & S_IFMT {
            case S_IFREG: return entry
            case S_IFLNK:
                quarantine(entry, because: "is a symbolic link (never followed)", counted: false)
                return nil
            default: return nil
            }
        }
    }

    func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}

/// Whether a folder may have changed since it was last listed: its
/// modification time moved, or the listing came within 2 s of the last change
/// (the kernel stamps folders at clock-tick resolution, so a file dropped just
/// after a listing can leave the stamp as it was). One `stat`, no listing.
struct FolderWatch: Sendable {
    private var last: (folder: DelayedQueue.FileStamp, at: Int)?

    func changed(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return last != nil }
        guard let last else { return true }
        return last.folder != DelayedQueue.FileStamp(info.st_mtim) || last.at - last.folder.seconds < 2
    }

    /// The folder is being listed now.
    mutating func listed(_ path: String) {
        var info = stat()
        last = stat(path, &info) == 0 ? (DelayedQueue.FileStamp(info.st_mtim), time(nil)) : nil
    }
}

/// A critical message that could not be made durable.
public enum DelayedQueueError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Writing, syncing or renaming failed.
    case cannotStore(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotStore(let path, let reason): "cannot store a delayed message at \(path): \(reason)"
        }
    }
}

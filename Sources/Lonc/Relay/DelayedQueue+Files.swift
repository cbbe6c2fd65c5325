import Foundation
import Logging

/// What becomes of a delayed file: read, removed once delivered, moved to
/// `rejected/` or `bad/`. None of it follows a symbolic link: reading opens
/// with `O_NOFOLLOW` (and `O_NONBLOCK`, so a FIFO put in a file's place
/// cannot hang the relay), and `unlink`/`rename` act on the name itself.
///
/// A file whose fate is known but that cannot be removed or moved (a
/// read-only mount, an immutable file, a folder whose permissions were
/// changed) is *held*: one error line names it and the reason, it stops
/// counting as waiting and is never sent again by this process (it would
/// otherwise go out every half second forever), and it stays where it is,
/// so nothing is lost. Every later scan tries the removal or move again and
/// logs once when it succeeds. After a restart the hold is forgotten: a
/// delivered file still there is sent once more, with the same id (at least
/// once; a handler that drops repeated ids acts on it once).
extension DelayedQueue {
    /// The largest file read as a message: `links.max_line` is at most 16 MiB, and a line ends in CR LF at most.
    static let largestFile = (16 << 20) + 2

    /// A held file: its peer, and what was to be done with it.
    struct Held: Sendable, Equatable {
        var peer: String
        var fate: Fate
    }

    /// What is to be done with a file whose message is settled.
    enum Fate: Sendable, Equatable {
        case delivered
        case rejected
        case bad

        /// The words in log lines.
        var action: String {
            switch self {
            case .delivered: "delivered, but cannot be removed"
            case .rejected: "refused by its peer, but cannot be moved to rejected/"
            case .bad: "unreadable, but cannot be moved to bad/"
            }
        }
    }

    /// The message line of an entry; a file that cannot be read (or is not a
    /// regular file, or holds more than one line) is moved to `bad/` and nil
    /// returned. A file gone since the scan is nil too.
    public func line(of entry: Entry) -> String? {
        let path = "\(directory)/\(entry.name)"
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let failure = errno
            if failure == ENOENT { return nil }
            quarantine(entry, because: failure == ELOOP ? "is a symbolic link (never followed)" : "cannot be read: \(String(cString: strerror(failure)))")
            return nil
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            quarantine(entry, because: "is not a regular file")
            return nil
        }
        var bytes: [UInt8]
        switch readAll(descriptor, limit: Self.largestFile) {
        case .bytes(let all): bytes = all
        case .tooLong:
            quarantine(entry, because: "is larger than any line (over \(Self.largestFile) bytes)")
            return nil
        case .failed(let failure):
            quarantine(entry, because: "cannot be read: \(String(cString: strerror(failure)))")
            return nil
        }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        // By byte, not Character: "\r\n" is one Character, equal neither to "\r" nor to "\n".
        guard !bytes.isEmpty, !bytes.contains(UInt8(ascii: "\n")), !bytes.contains(UInt8(ascii: "\r")) else {
            quarantine(entry, because: bytes.isEmpty ? "is empty" : "holds more than one line")
            return nil
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            quarantine(entry, because: "is not UTF-8")
            return nil
        }
        return text
    }

    private enum ReadOutcome {
        case bytes([UInt8])
        case tooLong
        case failed(Int32)
    }

    /// The bytes up to end of file, never more than `limit`.
    private func readAll(_ descriptor: Int32, limit: Int) -> ReadOutcome {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return .bytes(bytes) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failed(errno)
            }
            bytes += chunk[..<count]
            if bytes.count > limit { return .tooLong }
        }
    }

    /// Removes a delivered message (after the peer's reply); holds it when it cannot be removed.
    public func remove(_ entry: Entry) {
        settle(entry, .delivered)
    }

    /// Moves a message the peer refused to `rejected/`, with its reply in `rejected/<name>.reply`
    /// (written first, so a crash never leaves a rejected message without its reason).
    public func reject(_ entry: Entry, reply: String) {
        let replyPath = "\(rejectedDirectory)/\(entry.name).reply"
        if (try? Data((reply + "\n").utf8).write(to: URL(fileURLWithPath: replyPath), options: .atomic)) == nil {
            logger.error("cannot write the reply beside a rejected message; it is moved without it", metadata: ["file": "\(replyPath)", "peer": "\(entry.peer)"])
        }
        settle(entry, .rejected)
    }

    /// Messages set aside: unreadable ones in `bad/`, refused ones in `rejected/`
    /// (their `.reply` files not counted); nil for a folder that cannot be read.
    public struct SetAside: Sendable, Equatable {
        public var bad: Int?
        public var rejected: Int?
    }

    /// The messages set aside, as last counted: read by the HTTP threads
    /// (`/health`, `/metrics`) without touching the disk. Counted at opening,
    /// when this queue moves a file there, and by `recountSetAside()`.
    public var setAside: SetAside { setAsideCounts.withLock { $0.counts } }

    /// Counts `bad/` and `rejected/` again, each only when it may have changed
    /// (one `stat` each otherwise): files moved by operators, or back into `delayed/`.
    /// The relay calls it on its tick, off the HTTP threads.
    public func recountSetAside() {
        let (bad, rejected) = (directory + "/bad", rejectedDirectory)
        let stale = setAsideCounts.withLock { ($0.bad.changed(bad), $0.rejected.changed(rejected)) }
        if stale.0 { count(bad, into: \.bad, watch: \.bad) { _ in true } }
        if stale.1 { count(rejected, into: \.rejected, watch: \.rejected) { !$0.hasSuffix(".reply") } }
    }

    private func count(
        _ folder: String, into field: WritableKeyPath<SetAside, Int?>, watch: WritableKeyPath<SetAsideCounts, FolderWatch>,
        isMessage: (String) -> Bool
    ) {
        setAsideCounts.withLock { $0[keyPath: watch].listed(folder) }
        let count = (try? FileManager.default.contentsOfDirectory(atPath: folder)).map { $0.count { !$0.hasPrefix(".") && isMessage($0) } }
        setAsideCounts.withLock { $0.counts[keyPath: field] = count }
    }

    /// Messages whose fate is known but whose file could not be removed or moved (not waiting, not sent).
    public var heldCount: Int { held.withLock { $0.count } }

    /// Moves an unreadable file to `bad/`. `counted`: whether it counts as waiting now.
    func quarantine(_ entry: Entry, because reason: String, counted: Bool = true) {
        logger.error("delayed message cannot be sent; moved to bad/", metadata: ["file": "\(directory)/\(entry.name)", "peer": "\(entry.peer)", "reason": "\(reason)"])
        settle(entry, .bad, counted: counted)
    }

    /// Does what `fate` says with the file, or holds it.
    private func settle(_ entry: Entry, _ fate: Fate, counted: Bool = true) {
        let failure = perform(fate, on: entry.name)
        if counted { uncount(entry) }
        syncDirectory(directory)
        guard let failure else {
            if fate != .delivered { syncDirectory(target(of: fate)) }
            setAsideCounts.withLock { counts in
                switch fate {
                case .delivered: break
                case .rejected: counts.counts.rejected = counts.counts.rejected.map { $0 + 1 }
                case .bad: counts.counts.bad = counts.counts.bad.map { $0 + 1 }
                }
            }
            return
        }
        held.withLock { $0[entry.name] = Held(peer: entry.peer, fate: fate) }
        logger.error(
            "delayed message held: not sent again, left in place; tried again at each scan",
            metadata: [
                "file": "\(directory)/\(entry.name)", "peer": "\(entry.peer)", "state": "\(fate.action)",
                "reason": "\(String(cString: strerror(failure)))",
            ])
    }

    /// Tries the held files' removal or move again; forgets those done or gone.
    func retryHeld() {
        let all = held.withLock { $0 }
        for (name, file) in all where perform(file.fate, on: name) == nil {
            held.withLock { $0[name] = nil }
            logger.notice("held delayed message removed or moved after all", metadata: ["file": "\(directory)/\(name)", "peer": "\(file.peer)"])
        }
    }

    /// Removes or moves the file; nil when it is gone from `delayed/` (also when it
    /// already was), else the error number.
    private func perform(_ fate: Fate, on name: String) -> Int32? {
        let path = "\(directory)/\(name)"
        guard (fate == .delivered ? unlink(path) : rename(path, "\(target(of: fate))/\(name)")) != 0 else { return nil }
        let failure = errno
        // rename's ENOENT may be about the target folder: only a missing file is done.
        var info = stat()
        return failure == ENOENT && lstat(path, &info) != 0 ? nil : failure
    }

    private func target(of fate: Fate) -> String {
        switch fate {
        case .delivered: directory
        case .rejected: rejectedDirectory
        case .bad: directory + "/bad"
        }
    }

    private func uncount(_ entry: Entry) {
        counts.withLock { $0[entry.peer] = max(0, ($0[entry.peer] ?? 1) - 1) }
    }
}

/// `bad/` and `rejected/`: the counts, and when each was last listed.
struct SetAsideCounts: Sendable {
    var counts = DelayedQueue.SetAside()
    var bad = FolderWatch()
    var rejected = FolderWatch()
}

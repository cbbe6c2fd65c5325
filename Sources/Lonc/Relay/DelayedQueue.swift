import Foundation
import Logging

/// Critical messages waiting for a peer, one file each in `<state_dir>/delayed/`
/// (docs/REFERENCE.md, "Local relay and delayed messages"):
///
///     000001764019200.000000042.msua2      <unix time>.<sequence>.<peer id>
///
/// Name order is acceptance order, across restarts too: the time never goes
/// below the newest file's (a clock stepping back cannot reorder), and the
/// sequence continues past the highest one found. A file is written under a
/// temporary name, fsynced, renamed, and the folder fsynced, so a crash leaves
/// either no file or the whole message. Files that other tools drop in with
/// the same naming are sent too; a file that cannot be read is moved to
/// `delayed/bad/` with a log line and never blocks the rest.
public final class DelayedQueue: Sendable {
    /// `<state_dir>/delayed`.
    public let directory: String
    private let logger: Logger
    private let clock = Locked<(time: Int, sequence: Int)>((0, 0))
    /// Messages waiting per peer, kept in memory so `depth` never lists the folder;
    /// re-synced from the folder on every `pending` scan.
    private let counts = Locked<[String: Int]>([:])

    /// One queued message.
    public struct Entry: Sendable, Equatable, Comparable {
        /// The file name.
        public var name: String
        /// Seconds since 1970 when it was accepted.
        public var time: Int
        /// Its sequence number.
        public var sequence: Int
        /// The peer it is for.
        public var peer: String

        public static func < (a: Entry, b: Entry) -> Bool { (a.time, a.sequence, a.name) < (b.time, b.sequence, b.name) }

        /// Parses `<digits>.<digits>.<peer id>`; nil for anything else (temporary files, bad/).
        init?(name: String) {
            let parts = name.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, parts[0].allSatisfy(\.isASCIIDigit),
                parts[1].allSatisfy(\.isASCIIDigit), let time = Int(parts[0]), let sequence = Int(parts[1]), !parts[2].isEmpty
            else { return nil }
            self.name = name
            self.time = time
            self.sequence = sequence
            self.peer = String(parts[2])
        }
    }

    /// Opens (and creates) `<stateDirectory>/delayed`.
    public init(stateDirectory: String, logger: Logger) throws(DelayedQueueError) {
        directory = stateDirectory + "/delayed"
        self.logger = logger
        do {
            try FileManager.default.createDirectory(atPath: directory + "/bad", withIntermediateDirectories: true)
        } catch {
            throw .cannotStore(path: directory, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        let all = entries()
        let newest = all.max()
        clock.withLock { $0 = (newest?.time ?? 0, newest?.sequence ?? 0) }
        resync(all)
    }

    /// Stores a message for `peer`; returns its entry. Throws when it cannot be made durable.
    @discardableResult
    public func store(peer: String, line: String) throws(DelayedQueueError) -> Entry {
        let (time, sequence) = clock.withLock { clock in
            clock.time = max(clock.time, Int(Date().timeIntervalSince1970))
            clock.sequence += 1
            return clock
        }
        let name = String(format: "%012d.%09d.%@", time, sequence, peer)
        let temporary = "\(directory)/.tmp-\(sequence)-\(getpid())"
        let bytes = Array((line + "\n").utf8)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw .cannotStore(path: temporary, reason: String(cString: strerror(errno))) }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let writeError = errno
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0, rename(temporary, "\(directory)/\(name)") == 0 else {
            let reason = String(cString: strerror(written != bytes.count ? writeError : errno))
            unlink(temporary)
            throw .cannotStore(path: "\(directory)/\(name)", reason: reason)
        }
        syncDirectory()
        guard let entry = Entry(name: name) else { throw .cannotStore(path: name, reason: "peer id makes an unparsable name") }
        counts.withLock { $0[peer, default: 0] += 1 }
        return entry
    }

    /// The messages waiting for `peer` (or every peer), in acceptance order.
    public func pending(peer: String? = nil) -> [Entry] {
        let all = entries()
        resync(all)
        return all.filter { peer == nil || $0.peer == peer }.sorted()
    }

    /// How many messages wait for `peer` (from memory; files dropped in by other tools count after the next scan).
    public func depth(peer: String) -> Int { counts.withLock { $0[peer] ?? 0 } }

    private func resync(_ all: [Entry]) {
        var fresh: [String: Int] = [:]
        for entry in all { fresh[entry.peer, default: 0] += 1 }
        counts.withLock { $0 = fresh }
    }

    /// The message line of an entry; a file that cannot be read is moved to `bad/` and nil returned.
    public func line(of entry: Entry) -> String? {
        let path = "\(directory)/\(entry.name)"
        guard let data = FileManager.default.contents(atPath: path) else {
            quarantine(entry, because: "cannot be read")
            return nil
        }
        guard var text = String(data: data, encoding: .utf8) else {
            quarantine(entry, because: "is not UTF-8")
            return nil
        }
        if text.hasSuffix("\n") { text.removeLast() }
        if text.hasSuffix("\r") { text.removeLast() }
        guard !text.isEmpty, !text.contains("\n") else {
            quarantine(entry, because: text.isEmpty ? "is empty" : "holds more than one line")
            return nil
        }
        return text
    }

    /// Removes a delivered message (after the peer's reply).
    public func remove(_ entry: Entry) {
        if unlink("\(directory)/\(entry.name)") == 0 { counts.withLock { $0[entry.peer] = max(0, ($0[entry.peer] ?? 1) - 1) } }
        syncDirectory()
    }

    private func quarantine(_ entry: Entry, because reason: String) {
        logger.error("delayed message \(entry.name) \(reason); moved to \(directory)/bad", metadata: ["peer": "\(entry.peer)"])
        if rename("\(directory)/\(entry.name)", "\(directory)/bad/\(entry.name)") == 0 {
            counts.withLock { $0[entry.peer] = max(0, ($0[entry.peer] ?? 1) - 1) }
        }
        syncDirectory()
    }

    private func entries() -> [Entry] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap(Entry.init(name:))
    }

    private func syncDirectory() {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
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

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

import Foundation
import Lonc

/// Drains set by operators (`balancerd ctl drain <id> <reason>`, here or on
/// another balancer instance), kept in `<state_dir>/drains.json` so they survive
/// restarts and reloads: the drains in force and each peer's last revision
/// (`DrainBook`). Written to a temporary file, fsynced, renamed: a crash leaves
/// the old or the new file. A file of the older form (only id → drain) is read too.
final class DrainStore: Sendable {
    typealias Drain = DrainBook.Drain

    let path: String
    /// Revisions found in the file outside `DrainRevision.validNumbers` and dropped, by peer (for a log line).
    let droppedRevisions: [String: Int]
    private let book: Locked<DrainBook>
    /// One change and its save at a time, so the file never goes back to an older book.
    private let saving = Locked(())

    /// Loads the drains at `<stateDirectory>/drains.json` (none if the file is missing).
    init(stateDirectory: String) throws(DrainStoreError) {
        path = stateDirectory + "/drains.json"
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw DrainStoreError(path: stateDirectory, reason: "cannot create the state folder: \(error.localizedDescription)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            book = Locked(DrainBook())
            droppedRevisions = [:]
            return
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var loaded: DrainBook
        if let current = try? decoder.decode(DrainBook.self, from: data) {
            loaded = current
        } else {
            do {
                loaded = DrainBook(drains: try decoder.decode([String: Drain].self, from: data))
            } catch {
                throw DrainStoreError(path: path, reason: "not a drains file: \(error)")
            }
        }
        // A number past the bound would trap at the next `number + 1`, at every start.
        droppedRevisions = loaded.dropInvalidRevisions()
        book = Locked(loaded)
    }

    /// Every drain, by id.
    var all: [String: Drain] { book.withLock { $0.drains } }

    /// id → reason, for the balancer.
    var reasons: [String: String] { all.mapValues(\.reason) }

    /// Drains `id` here (`origin`: this instance); the change to tell the other instances.
    @discardableResult
    func drain(_ id: String, reason: String, by operatorName: String? = nil, origin: String = "") throws(DrainStoreError) -> DrainChange {
        let made = try change { $0.local(peer: id, draining: true, reason: reason, by: operatorName, origin: origin, now: Date()) }
        try requireApplied(made)
        return made
    }

    /// Undrains `id` here; whether it was draining, and the change to tell the other instances.
    @discardableResult
    func undrain(_ id: String, by operatorName: String? = nil, origin: String = "") throws(DrainStoreError) -> (wasDraining: Bool, change: DrainChange) {
        let made = try change { book in
            let wasDraining = book.drains[id] != nil
            return (wasDraining, book.local(peer: id, draining: false, reason: "", by: operatorName, origin: origin, now: Date()))
        }
        try requireApplied(made.1)
        return made
    }

    /// A local change loses only to a revision already at `DrainRevision.largestNumber`
    /// from an origin that sorts after this one: say so rather than answer `ok`.
    private func requireApplied(_ made: DrainChange) throws(DrainStoreError) {
        guard let current = book.withLock({ $0.revisions[made.peer] }), current != made.revision else { return }
        throw DrainStoreError(
            path: path,
            reason: "\(made.peer)'s last change has revision \(current.number) from \(current.origin), the largest there is, so no change made here can be later: give it on \(current.origin), or stop balancerd and remove \(made.peer) from \"revisions\" in this file")
    }

    /// The last change given at `origin` for each peer (`DrainBook.changes(origin:)`).
    func changes(origin: String) -> [DrainChange] { book.withLock { $0.changes(origin: origin) } }

    /// A change from another instance; false (and nothing written) when a later one is already in force.
    func merge(_ received: DrainChange) throws(DrainStoreError) -> Bool {
        try change { $0.merge(received) }
    }

    private func change<Result>(_ body: (inout DrainBook) -> Result) throws(DrainStoreError) -> Result {
        var failure: DrainStoreError?
        let result = saving.withLock { _ in
            let (result, snapshot) = book.withLock { book in
                let before = book
                let result = body(&book)
                return (result, book == before ? nil : book)
            }
            if let snapshot {
                do throws(DrainStoreError) { try save(snapshot) } catch { failure = error }
            }
            return result
        }
        if let failure { throw failure }
        return result
    }

    private func save(_ snapshot: DrainBook) throws(DrainStoreError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(snapshot) else { throw DrainStoreError(path: path, reason: "cannot encode the drains") }
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw DrainStoreError(path: temporary, reason: String(cString: strerror(errno))) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw DrainStoreError(path: path, reason: reason)
        }
        let folder = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }
}

/// The drains file could not be read or written.
struct DrainStoreError: Error, Sendable, CustomStringConvertible {
    var path: String
    var reason: String
    var description: String { "\(path): \(reason)" }
}

import Foundation
import Lonc

/// Drains set by operators (`balancerd ctl drain <id> <reason>`), kept in
/// `<state_dir>/drains.json` so they survive restarts and reloads. Written to a
/// temporary file, fsynced, renamed: a crash leaves the old or the new file.
final class DrainStore: Sendable {
    struct Drain: Codable, Sendable, Equatable {
        var reason: String
        var since: Date
        /// The operator who asked (`balancerd ctl` sends its user); nil in files written before it was kept.
        var by: String?
    }

    let path: String
    private let drains: Locked<[String: Drain]>

    /// Loads the drains at `<stateDirectory>/drains.json` (none if the file is missing).
    init(stateDirectory: String) throws(DrainStoreError) {
        path = stateDirectory + "/drains.json"
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw DrainStoreError(path: stateDirectory, reason: "cannot create the state folder: \(error.localizedDescription)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            drains = Locked([:])
            return
        }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            drains = Locked(try decoder.decode([String: Drain].self, from: data))
        } catch {
            throw DrainStoreError(path: path, reason: "not a drains file: \(error)")
        }
    }

    /// Every drain, by id.
    var all: [String: Drain] { drains.withLock { $0 } }

    /// id → reason, for the balancer.
    var reasons: [String: String] { all.mapValues(\.reason) }

    func drain(_ id: String, reason: String, by operatorName: String? = nil) throws(DrainStoreError) {
        try change { $0[id] = Drain(reason: reason, since: Date(), by: operatorName) }
    }

    /// Returns false when `id` was not draining.
    @discardableResult
    func undrain(_ id: String) throws(DrainStoreError) -> Bool {
        var existed = false
        try change { existed = $0.removeValue(forKey: id) != nil }
        return existed
    }

    private func change(_ body: (inout [String: Drain]) -> Void) throws(DrainStoreError) {
        let snapshot = drains.withLock { drains in
            body(&drains)
            return drains
        }
        try save(snapshot)
    }

    private func save(_ snapshot: [String: Drain]) throws(DrainStoreError) {
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

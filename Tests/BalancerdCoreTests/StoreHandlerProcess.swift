import Foundation

/// The example application handler (examples/handler/store-handler.py) as a
/// real process on a socket in the test's folder, and what it stored.
final class StoreHandlerProcess: @unchecked Sendable {
    let socket: String
    let storePath: String
    let logPath: String
    private let process = Process()

    init(directory: String) throws {
        socket = directory + "/handler.sock"
        storePath = directory + "/handler-store.txt"
        logPath = directory + "/handler.log"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [repositoryRoot + "/examples/handler/store-handler.py", "--socket", socket, "--store", storePath]
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
    }

    /// Waits until the handler listens.
    func waitUntilListening() async -> Bool {
        await waitFor { FileManager.default.fileExists(atPath: self.socket) } != nil
    }

    /// The stored messages in store order: (message id, peer, command).
    func stored() -> [(id: String, peer: String, command: String)] {
        let text = (try? String(contentsOfFile: storePath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            return parts.count == 3 ? (parts[0], parts[1], parts[2]) : nil
        }
    }

    /// Critical messages it received again and did not store a second time.
    var duplicatesDropped: Int {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix("store-handler: duplicate") }.count
    }

    /// SIGKILL: every stored message was fsynced before its answer, so nothing is lost.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

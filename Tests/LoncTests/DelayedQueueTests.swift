import Foundation
import Logging
import Testing
import TestSupport
@testable import Lonc

@Suite("the delayed-message queue on disk", .serialized)
struct DelayedQueueTests {
    /// The queue of the state folder `state` (a new process opening it, when called again).
    static func queue(at state: String) throws -> DelayedQueue { try DelayedQueue(stateDirectory: state, logger: Logger(label: "q")) }

    @Test("name order is acceptance order, across a restart")
    func orderAcrossRestart() throws {
        let folder = try TemporaryFolder()
        let state = folder.path
        let first = try Self.queue(at: state)
        for index in 0..<50 { try first.store(peer: "a2", line: "store:\(index)") }
        try first.store(peer: "a3", line: "other")
        // A new process on the same folder continues the order.
        let second = try Self.queue(at: state)
        for index in 50..<100 { try second.store(peer: "a2", line: "store:\(index)") }
        let pending = second.pending(peer: "a2")
        #expect(pending.map { second.line(of: $0) } == (0..<100).map { "store:\($0)" })
        #expect(pending.map(\.name) == pending.map(\.name).sorted())
        #expect(second.depth(peer: "a3") == 1)
        let entry = try #require(pending.first)
        #expect(entry.name.range(of: #"^\d{12}\.\d{9}\.[0-9a-f]{16}\.a2$"#, options: .regularExpression) != nil)
        second.remove(entry)
        #expect(second.depth(peer: "a2") == 99)
    }

    /// Found by the 2,000-message kill test: names were `<second>.<sequence>.<peer>`
    /// with the sequence starting again after a restart on an emptied folder, so
    /// a serve restarted within the second re-used the ids of messages already
    /// delivered, and the application dropped the new messages as repeats.
    @Test("a queue reopened on an emptied folder never makes a name (a message id) it made before")
    func namesNeverRepeatAfterRestart() throws {
        let folder = try TemporaryFolder()
        let state = folder.path
        var names: Set<String> = []
        for _ in 0..<20 {
            let queue = try Self.queue(at: state)
            for index in 0..<5 {
                let entry = try queue.store(peer: "a2", line: "store:\(index)")
                #expect(names.insert(entry.name).inserted, "\(entry.name) was made twice")
                queue.remove(entry)
            }
        }
        #expect(names.count == 100)
    }

    @Test("files other tools drop in (any name ending in .<peer id>) are picked up in modification-time order; unreadable ones go to bad/ and never block the rest")
    func foreignAndBad() throws {
        let folder = try TemporaryFolder()
        let (state, queue) = (folder.path, try Self.queue(at: folder.path))
        try queue.store(peer: "a2", line: "mine")
        let delayed = state + "/delayed"
        let older = Date().addingTimeInterval(-60)
        for (name, text) in [("zz_lonnet_1.a2", "seed-named\n"), ("000000000001.000000002.a2", ""), ("000000000001.000000003.a2", "two\nlines\n")] {
            try text.write(toFile: delayed + "/" + name, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.modificationDate: older], ofItemAtPath: delayed + "/" + name)
        }
        try "later\n".write(toFile: delayed + "/aa_later.a2", atomically: true, encoding: .utf8)
        try "hidden".write(toFile: delayed + "/.tmp-9-9", atomically: true, encoding: .utf8)
        #expect(queue.folderChanged())
        let lines = queue.pending(peer: "a2").compactMap { queue.line(of: $0) }
        #expect(lines == ["seed-named", "mine", "later"])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: delayed + "/bad")) == ["000000000001.000000002.a2", "000000000001.000000003.a2"])
    }

    /// Found by review: names were read by their last dot, so a message stored
    /// for `x.a1` while its link was down went to `a1`.
    @Test("a message for an id holding a dot is never taken for another id's")
    func dottedIDs() throws {
        let folder = try TemporaryFolder()
        let (state, queue) = (folder.path, try Self.queue(at: folder.path))
        try queue.store(peer: "x.a1", line: "for x.a1")
        try queue.store(peer: "a1", line: "for a1")
        try queue.store(peer: "a1.x", line: "for a1.x")
        // A new process on the same folder reads the names back.
        let again = try Self.queue(at: state)
        for id in ["x.a1", "a1", "a1.x"] {
            #expect(again.pending(peer: id).compactMap { again.line(of: $0) } == ["for \(id)"], "\(id)")
            #expect(again.depth(peer: id) == 1)
        }
        let names = again.pending().map(\.name)
        #expect(names.contains { $0.hasSuffix(".x%2Ea1") } && names.contains { $0.hasSuffix(".a1%2Ex") })
    }

    @Test("files named as earlier builds named them (the id as it is) and as other tools name them are still read")
    func earlierNames() throws {
        let folder = try TemporaryFolder()
        let state = folder.path
        let delayed = state + "/delayed"
        try FileManager.default.createDirectory(atPath: delayed, withIntermediateDirectories: true)
        let files = [
            ("001764019200.000000001.9f2c41d07a3be815.x.a1", "earlier build, dotted id"),
            ("001764019200.000000002.9f2c41d07a3be815.a1", "earlier build"),
            ("zz_lonnet_1.a1", "another tool"),
            ("zz_lonnet_2.x%2Ea1", "another tool, dotted id encoded"),
        ]
        for (index, (name, text)) in files.enumerated() {
            try (text + "\n").write(toFile: delayed + "/" + name, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_700_000_000 + Double(index))], ofItemAtPath: delayed + "/" + name)
        }
        let queue = try Self.queue(at: state)
        #expect(queue.pending(peer: "x.a1").compactMap { queue.line(of: $0) } == ["earlier build, dotted id", "another tool, dotted id encoded"])
        #expect(queue.pending(peer: "a1").compactMap { queue.line(of: $0) } == ["earlier build", "another tool"])
    }

    @Test("a line ending in CR LF is read without them; CR or LF inside it (\\r\\n is one Character) sends the file to bad/")
    func lineBreaksByByte() throws {
        let folder = try TemporaryFolder()
        let (state, queue) = (folder.path, try Self.queue(at: folder.path))
        let delayed = state + "/delayed"
        for (name, text) in [("a.a2", "windows\r\n"), ("b.a2", "store:x\r\nexit\n"), ("c.a2", "store:y\rexit\n")] {
            try text.write(toFile: delayed + "/" + name, atomically: true, encoding: .utf8)
        }
        #expect(queue.pending(peer: "a2").compactMap { queue.line(of: $0) } == ["windows"])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: delayed + "/bad")) == ["b.a2", "c.a2"])
    }

    @Test("symbolic links are never followed: one in the folder goes to bad/ as a link, its target untouched and unsent")
    func symbolicLinks() throws {
        let folder = try TemporaryFolder()
        let (state, queue) = (folder.path, try Self.queue(at: folder.path))
        let secret = state + "/secret"
        try "drainsync:not-for-sending\n".write(toFile: secret, atomically: true, encoding: .utf8)
        try queue.store(peer: "a2", line: "mine")
        #expect(symlink(secret, queue.directory + "/zz_link.a2") == 0)
        #expect(queue.pending(peer: "a2").compactMap { queue.line(of: $0) } == ["mine"])
        var info = stat()
        #expect(lstat(queue.directory + "/bad/zz_link.a2", &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK)
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "drainsync:not-for-sending\n")
        // A file that became a link between the listing and the read is not followed either.
        let entry = try queue.store(peer: "a2", line: "swapped")
        #expect(unlink(queue.directory + "/" + entry.name) == 0 && symlink(secret, queue.directory + "/" + entry.name) == 0)
        #expect(queue.line(of: entry) == nil)
        #expect(lstat(queue.directory + "/bad/" + entry.name, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK)
    }

    /// Found by review: a delivered file that could not be removed stayed first
    /// in line and was sent again every half second, forever.
    @Test("a delivered file that cannot be removed is held: logged once, never listed again, kept; removed once it can be")
    func heldWhenUnremovable() throws {
        guard getuid() == 0 else { return }  // a read-only bind mount needs root; CI runs as root
        let folder = try TemporaryFolder()
        let state = folder.path
        let log = CapturedLog()
        let queue = try DelayedQueue(stateDirectory: state, logger: Logger(label: "q") { _ in log })
        let entry = try queue.store(peer: "a2", line: "delivered")
        let delayed = queue.directory
        try #require(try run("/bin/mount", ["--bind", delayed, delayed]) == 0)
        defer {
            _ = try? run("/bin/umount", [delayed])
            try? FileManager.default.removeItem(atPath: state)
        }
        try #require(try run("/bin/mount", ["-o", "remount,ro,bind", delayed]) == 0)
        queue.remove(entry)
        for _ in 0..<5 { #expect(queue.pending(peer: "a2").isEmpty, "a held file is not sent again") }
        #expect(queue.depth(peer: "a2") == 0)
        #expect(queue.heldCount == 1)
        #expect(FileManager.default.fileExists(atPath: delayed + "/" + entry.name), "never lost")
        let held = log.entries.filter { $0.message.hasPrefix("delayed message held") }
        #expect(held.count == 1)
        #expect(held.first?.metadata["reason"] == "Read-only file system")
        #expect(held.first?.metadata["file"] == delayed + "/" + entry.name)
        try #require(try run("/bin/umount", [delayed]) == 0)
        #expect(queue.pending(peer: "a2").isEmpty)
        #expect(queue.heldCount == 0)
        #expect(!FileManager.default.fileExists(atPath: delayed + "/" + entry.name), "removed at the next scan")
    }

    @Test("a refused message moves to rejected/ beside its reply, and is counted there, not delivered")
    func rejected() throws {
        let folder = try TemporaryFolder()
        let queue = try Self.queue(at: folder.path)
        let entry = try queue.store(peer: "a2", line: "store:x")
        #expect(queue.setAside == DelayedQueue.SetAside(bad: 0, rejected: 0))
        queue.reject(entry, reply: "unknown_cmd")
        #expect(queue.depth(peer: "a2") == 0)
        #expect(queue.pending().isEmpty)
        #expect(queue.setAside.rejected == 1)
        #expect(try String(contentsOfFile: queue.rejectedDirectory + "/" + entry.name, encoding: .utf8) == "store:x\n")
        #expect(try String(contentsOfFile: queue.rejectedDirectory + "/" + entry.name + ".reply", encoding: .utf8) == "unknown_cmd\n")
    }

    /// /health and /metrics read the counts on the HTTP threads: the relay's tick counts again, not they.
    @Test("bad/ and rejected/ are counted again only by recountSetAside: files an operator moves or drops in show after it")
    func setAsideRecounted() throws {
        let folder = try TemporaryFolder()
        let queue = try Self.queue(at: folder.path)
        let entry = try queue.store(peer: "a2", line: "store:x")
        queue.reject(entry, reply: "refused")
        try "x\n".write(toFile: queue.directory + "/bad/dropped.a2", atomically: false, encoding: .utf8)
        try FileManager.default.moveItem(atPath: queue.rejectedDirectory + "/" + entry.name, toPath: queue.directory + "/" + entry.name)
        #expect(queue.setAside == DelayedQueue.SetAside(bad: 0, rejected: 1), "read from memory, as last counted")
        queue.recountSetAside()
        #expect(queue.setAside == DelayedQueue.SetAside(bad: 1, rejected: 0))
    }

    @Test("own files keep acceptance order when the clock steps back: their modification times only go up")
    func clockStepsBack() throws {
        let folder = try TemporaryFolder()
        let state = folder.path
        let first = try Self.queue(at: state)
        let entry = try first.store(peer: "a2", line: "one")
        // A file from "the future" (as after a clock stepped back): later messages still sort after it.
        let future = Date().addingTimeInterval(3600)
        try FileManager.default.setAttributes([.modificationDate: future], ofItemAtPath: first.directory + "/" + entry.name)
        let second = try Self.queue(at: state)
        try second.store(peer: "a2", line: "two")
        #expect(second.pending(peer: "a2").compactMap { second.line(of: $0) } == ["one", "two"])
    }

    @Test("a full disk gives a typed error naming the path, and leaves no partial file")
    func fullDisk() throws {
        guard getuid() == 0 else { return }  // mounting a tiny tmpfs needs root; CI runs as root
        let folder = try TemporaryFolder()
        let state = folder.path
        defer {
            _ = try? run("/bin/umount", [state])
            try? FileManager.default.removeItem(atPath: state)
        }
        let mounted = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", state])
        try #require(mounted == 0, "cannot mount a tmpfs as root")
        let queue = try Self.queue(at: state)
        var failure: DelayedQueueError?
        for index in 0..<100 {
            do {
                try queue.store(peer: "a2", line: String(repeating: "x", count: 2000) + "\(index)")
            } catch {
                failure = error
                break
            }
        }
        let error = try #require(failure)
        #expect(error.description.contains("cannot store a delayed message at \(state)/delayed/"))
        #expect(error.description.contains("No space left on device"))
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: state + "/delayed")).contains { $0.hasPrefix(".tmp") })
        for entry in queue.pending(peer: "a2") { #expect(queue.line(of: entry)?.count ?? 0 > 2000) }
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

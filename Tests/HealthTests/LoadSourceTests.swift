import Foundation
import Logging
import Lonc
import NIOCore
import Testing
import TestSupport
@testable import Health

@Suite("load sources")
struct LoadSourceTests {
    @Test("a /proc/loadavg line parses")
    func parsesLoadavg() throws {
        let averages = try LoadAverageFile.parse("0.52 0.58 0.59 1/389 12345\n", path: "/proc/loadavg")
        #expect(averages == LoadAverages(one: 0.52, five: 0.58, fifteen: 0.59))
    }

    @Test("garbage names the file and what it found", arguments: ["", "high", "1.0 2.0", "1.0 -2 3", "nan nan nan", "1,5 2,0 3,0"])
    func garbage(text: String) {
        #expect(throws: LoadSourceError.self) { try LoadAverageFile.parse(text, path: "/tmp/x") }
        do {
            _ = try LoadAverageFile.parse(text, path: "/tmp/x")
        } catch {
            #expect(error.description.hasPrefix("/tmp/x does not hold three load averages"))
        }
    }

    @Test("a missing file is an error naming it, and the load is unknown, not zero")
    func missingFile() throws {
        let source = LoadAverageFile(path: "/nonexistent/loadavg")
        #expect(throws: LoadSourceError.unreadable(path: "/nonexistent/loadavg", reason: "No such file or directory")) { try source.read() }
        let folder = try TemporaryFolder()
        let local = LocalLoad(loadAverage: source, sessions: SessionDirectory(path: folder.path, activeWindow: .seconds(60)), loadLimit: 2, userLoadLimit: 10)
        #expect(local.loadPercent() == nil)
        #expect(local.sample(sequence: 1).effectivePercent == nil)  // userload 0 % is known, but the larger of 0 and unknown is not
        #expect(local.loadReply() == WireReply.unknown)
        #expect(local.loadAverageReply() == WireReply.unknown)
    }

    @Test("a missing sessions folder makes userload unknown, not 0, and the reply says so")
    func missingSessionsFolder() throws {
        let folder = try TemporaryFolder()
        try "0.50 0.50 0.50 1/100 42\n".write(toFile: folder.file("loadavg"), atomically: true, encoding: .utf8)
        let local = LocalLoad(
            loadAverage: LoadAverageFile(path: folder.file("loadavg")),
            sessions: SessionDirectory(path: folder.file("no-sessions"), activeWindow: .seconds(60)), loadLimit: 2, userLoadLimit: 10)
        #expect(local.userLoadPercent() == nil)
        #expect(local.userLoadReply() == "unknown")
        #expect(local.loadReply() == "25.00")
        #expect(WireNumber.parse(local.userLoadReply()) == nil, "the poller reads it as unknown")
        #expect(local.sample(sequence: 1).effectivePercent == nil)
    }

    @Test("an unreadable source is logged once when it fails, once when it recovers, not on every read")
    func loggedOncePerChange() throws {
        let folder = try TemporaryFolder()
        let sessions = folder.file("sessions")
        let lines = CapturedLog()
        let watch = LoadSourceWatch(logger: Logger(label: "test") { _ in lines })
        let local = LocalLoad(
            loadAverage: LoadAverageFile(path: folder.file("loadavg")),
            sessions: SessionDirectory(path: sessions, activeWindow: .seconds(60)), loadLimit: 2, userLoadLimit: 10, watch: watch)
        for _ in 0..<5 { _ = local.userLoadReply() }
        #expect(lines.messages.count == 1)
        let failed = lines.entries.first
        #expect(failed?.message.hasPrefix("load source unreadable: its figure is unknown") == true)
        #expect(failed?.metadata["key"] == "agent.sessions_dir" && failed?.metadata["figure"] == "userload")
        #expect(failed?.metadata["error"]?.hasPrefix("cannot list sessions in \(sessions): No such file or directory") == true)
        try FileManager.default.createDirectory(atPath: sessions, withIntermediateDirectories: true)
        for _ in 0..<5 { #expect(local.userLoadReply() == "0.00") }
        #expect(lines.messages.count == 2)
        #expect(lines.messages.last == "load source readable again: its figure is known" && lines.entries.last?.metadata["key"] == "agent.sessions_dir")
        for _ in 0..<3 { _ = local.loadReply() }
        #expect(lines.messages.count == 3, "the load file fails on its own, logged once")
        #expect(watch.current.keys.sorted { $0.rawValue < $1.rawValue } == [.loadFile])
    }

    @Test("load and userload are normalised to their limits and formatted with two decimals")
    func normalised() throws {
        let folder = try TemporaryFolder()
        try "0.75 0.50 0.25 1/100 42\n".write(toFile: folder.file("loadavg"), atomically: true, encoding: .utf8)
        let sessions = folder.file("sessions")
        try FileManager.default.createDirectory(atPath: sessions, withIntermediateDirectories: true)
        for index in 0..<3 { _ = FileManager.default.createFile(atPath: "\(sessions)/s\(index)", contents: Data()) }
        let local = LocalLoad(
            loadAverage: LoadAverageFile(path: folder.file("loadavg")),
            sessions: SessionDirectory(path: sessions, activeWindow: .seconds(1800)), loadLimit: 2, userLoadLimit: 8)
        #expect(local.loadReply() == "37.50")
        #expect(local.userLoadReply() == "37.50")
        #expect(local.loadAverageReply() == "0.75 0.50 0.25")
        #expect(local.sample(sequence: 1).effectivePercent == 37.5)
    }

    @Test("only files modified within the window count as sessions")
    func activeWindow() throws {
        let folder = try TemporaryFolder()
        let now = Date().timeIntervalSince1970
        for (name, age) in [("fresh", 10.0), ("recent", 1700), ("old", 1900), ("ancient", 86_400)] {
            let path = folder.file(name)
            _ = FileManager.default.createFile(atPath: path, contents: Data())
            var times = [timespec(tv_sec: Int(now - age), tv_nsec: 0), timespec(tv_sec: Int(now - age), tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        }
        try FileManager.default.createDirectory(atPath: folder.file("a-directory"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: folder.file(".hidden"), contents: Data())
        let directory = SessionDirectory(path: folder.path, activeWindow: .seconds(1800))
        #expect(try directory.activeSessions(now: now) == 2)
        #expect(throws: LoadSourceError.self) { try SessionDirectory(path: folder.file("none"), activeWindow: .seconds(1)).activeSessions() }
    }

    @Test("wire numbers: two decimals out, only plain numbers in")
    func wireNumbers() {
        #expect(WireNumber.format(37.5) == "37.50")
        #expect(WireNumber.format(0) == "0.00")
        #expect(WireNumber.format(100.005) == "100.01")
        #expect(WireNumber.format(3.04) == "3.04")
        #expect(WireNumber.parse("37.50") == 37.5)
        for garbage in ["", "con_lost", "-1", "1e9", "nan", "inf", " 3", "3 ", "0x10", String(repeating: "9", count: 40)] {
            #expect(WireNumber.parse(garbage) == nil, "\(garbage)")
        }
    }

    @Test("effective load is the larger figure; with either unknown it is unknown, never the other alone or zero")
    func effective() {
        #expect(LoadSample(loadPercent: 30, userLoadPercent: 50, sequence: 1).effectivePercent == 50)
        #expect(LoadSample(loadPercent: 30, userLoadPercent: nil, sequence: 1).effectivePercent == nil)
        #expect(LoadSample(loadPercent: nil, userLoadPercent: 0, sequence: 1).effectivePercent == nil)
        #expect(LoadSample(loadPercent: nil, userLoadPercent: nil, sequence: 1).effectivePercent == nil)
    }

    @Test("a history keeps the last values, oldest first")
    func ring() {
        var ring = CircularBuffer<Int>()
        for value in 1...7 { ring.append(value, keepingAtMost: 3) }
        #expect(Array(ring) == [5, 6, 7])
        #expect(ring.count == 3)
    }

    @Test("first polls are spread over the interval, one per slot, shuffled")
    func pollSpread() {
        var generator = SystemRandomNumberGenerator()
        let offsets = PollSchedule.firstOffsets(count: 100, interval: 2, using: &generator)
        #expect(offsets.count == 100)
        #expect(offsets.allSatisfy { $0 >= 0 && $0 < 2 })
        var buckets = Array(repeating: 0, count: 10)
        for offset in offsets { buckets[min(9, Int(offset / 0.2))] += 1 }
        #expect(buckets.allSatisfy { (8...12).contains($0) }, "\(buckets)")
        #expect(offsets != offsets.sorted())
    }
}

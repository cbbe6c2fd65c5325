import Foundation
import Logging
import Lonc
import Testing
import TestSupport
@testable import Health

/// A peer that answers from a script (a fake load source, as the standards allow):
/// a number, garbage, `con_lost`, or never (until the poll times out).
final class ScriptedPeer: PeerRequesting {
    enum Answer: Sendable { case reply(String), never }
    let peerID: String
    private let answers: Locked<[String: Answer]>
    let asked = Locked(0)

    init(_ id: String, load: Answer, userload: Answer) {
        peerID = id
        answers = Locked(["load": load, "userload": userload])
    }

    func set(load: Answer, userload: Answer) { answers.withLock { $0 = ["load": load, "userload": userload] } }

    /// The link's state; while it is not up, every request gets `con_lost`, as on a real link.
    let linkState = Locked(LinkState.up)

    var status: LinkStatus { LinkStatus(peerID: peerID, state: linkState.withLock { $0 }) }

    func request(_ line: String) async -> String {
        switch answer(line) {
        case .reply(let text): return text
        case .never:
            try? await Task.sleep(for: .seconds(3600))
            return "con_lost"
        }
    }

    /// The poller's path, answered at once as a link answers on its loop (no
    /// task: on a busy machine a task can wait longer than the poll's timeout).
    func request(_ lines: [String], eachReply reply: @escaping @Sendable (Int, String) -> Void) {
        for (index, line) in lines.enumerated() {
            if case .reply(let text) = answer(line) { reply(index, text) }
        }
    }

    private func answer(_ line: String) -> Answer {
        asked.withLock { $0 += 1 }
        guard linkState.withLock({ $0 }) == .up else { return .reply("con_lost") }
        return answers.withLock { $0[line] } ?? .reply("unknown_cmd")
    }
}

/// Waits (with a deadline) until the poller publishes a snapshot that satisfies `predicate`.
/// The deadline is generous: with the whole suite in parallel on 2 cores, the
/// test doubles' answers (Swift tasks) have been seen to wait over 10 s for a thread.
func waitForSnapshot(_ poller: LoadPoller, timeout: Duration = .seconds(30), _ predicate: @escaping @Sendable (HealthSnapshot) -> Bool) async -> HealthSnapshot? {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let snapshot = poller.snapshot
        if predicate(snapshot) { return snapshot }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return nil
}

@Suite("the load poller")
struct LoadPollerTests {
    /// A poller of `peers`, polling until the test cancels the task.
    static func polling(_ peers: [ScriptedPeer], settings: PollSettings) -> (LoadPoller, Task<Void, Never>) {
        let poller = LoadPoller(settings: settings, local: nil, logger: Logger(label: "test"))
        poller.setPeers(peers)
        return (poller, Task { await poller.run() })
    }

    static let fast = PollSettings(interval: .milliseconds(100), timeout: .milliseconds(50), staleAfter: .milliseconds(300), history: 5)

    /// An hour: a periodic first poll lands at least a quarter interval (15 minutes)
    /// after start, so any sample seen within the test's deadline came from a link-up poll.
    static let hourly = PollSettings(interval: .seconds(3600), timeout: .seconds(5), staleAfter: .seconds(7200), history: 5)

    @Test("no blind start: a link up at start is polled at once, not up to an interval later")
    func pollsAtOnceAtStart() async {
        let peers = (1...5).map { ScriptedPeer("p\($0)", load: .reply("20.00"), userload: .reply("10.00")) }
        let (poller, task) = Self.polling(peers, settings: Self.hourly)
        defer { task.cancel() }
        let snapshot = await waitForSnapshot(poller) { snapshot in peers.allSatisfy { snapshot.peer($0.peerID)?.latest != nil } }
        #expect(snapshot != nil, "not every peer was polled as its link came up: \(poller.snapshot.peers.map { "\($0.id): \($0.latest == nil ? "no sample" : "sampled")" })")
    }

    @Test("a link that comes up later, or that a reload adds, is polled as soon as it is up")
    func pollsWhenLinkComesUp() async {
        let poller = LoadPoller(settings: Self.hourly, local: nil, logger: Logger(label: "test"))
        let late = ScriptedPeer("late", load: .reply("30.00"), userload: .reply("10.00"))
        late.linkState.withLock { $0 = .connecting }
        poller.setPeers([late])
        let task = Task { await poller.run() }
        defer { task.cancel() }
        poller.publishIfDirty()
        #expect(late.asked.withLock { $0 } == 0)  // nothing to poll while the link is connecting
        late.linkState.withLock { $0 = .up }
        poller.linkChanged()
        #expect(await waitForSnapshot(poller) { $0.peer("late")?.latest?.effectivePercent == 30 } != nil)

        let added = ScriptedPeer("added", load: .reply("40.00"), userload: .reply("10.00"))
        poller.setPeers([late, added])
        #expect(await waitForSnapshot(poller) { $0.peer("added")?.latest?.effectivePercent == 40 } != nil)
        #expect(late.asked.withLock { $0 } == 2)  // the reload polled only the new link: late's one load + userload
    }

    @Test("numbers, garbage, con_lost and silence each give the right sample")
    func replies() async {
        let poller = LoadPoller(settings: Self.fast, local: nil, logger: Logger(label: "test"))
        let peers = [
            ScriptedPeer("numbers", load: .reply("37.50"), userload: .reply("12.00")),
            ScriptedPeer("garbage", load: .reply("error:busy"), userload: .reply("5.00")),
            ScriptedPeer("lost", load: .reply("con_lost"), userload: .reply("con_lost")),
            ScriptedPeer("silent", load: .never, userload: .reply("80.00")),
        ]
        poller.setPeers(peers)
        let task = Task { await poller.run() }
        defer { task.cancel() }
        let silent = peers[3]
        let snapshot = await waitForSnapshot(poller) { snapshot in
            ["numbers", "garbage"].allSatisfy { snapshot.peer($0)?.latest != nil } && silent.asked.withLock { $0 } >= 4
        }
        #expect(snapshot != nil)
        guard let snapshot else { return }
        #expect(snapshot.peer("numbers")?.latest?.effectivePercent == 37.5)
        #expect(snapshot.peer("garbage")?.latest?.loadPercent == nil)
        #expect(snapshot.peer("garbage")?.latest?.userLoadPercent == 5)
        #expect(snapshot.peer("garbage")?.latest?.effectivePercent == nil, "a load that is not a number is unknown, so is the larger of the two")
        #expect(snapshot.peer("lost")?.latest == nil)
        // A load reply that never came is no sample: the userload alone does not make one.
        #expect(snapshot.peer("silent")?.latest == nil)
        #expect(snapshot.peers.map(\.id) == ["numbers", "garbage", "lost", "silent"])
        // Half an answer, or garbage, is an answer; con_lost on both is not.
        #expect(snapshot.peer("silent")?.unansweredPolls == 0)
        #expect(snapshot.peer("garbage")?.unansweredPolls == 0)
        #expect(await waitForSnapshot(poller) { ($0.peer("lost")?.unansweredPolls ?? 0) >= 2 } != nil)
    }

    @Test("a peer that stops answering counts unanswered polls at once, long before its sample is stale; one answer resets them")
    func unanswered() async {
        let settings = PollSettings(interval: .milliseconds(50), timeout: .milliseconds(30), staleAfter: .seconds(3600), history: 5)
        let poller = LoadPoller(settings: settings, local: nil, logger: Logger(label: "test"))
        let peer = ScriptedPeer("a", load: .reply("10.00"), userload: .reply("0.00"))
        poller.setPeers([peer])
        let task = Task { await poller.run() }
        defer { task.cancel() }
        #expect(await waitForSnapshot(poller) { $0.peer("a")?.latest?.effectivePercent == 10 } != nil)
        peer.set(load: .never, userload: .never)
        let silent = await waitForSnapshot(poller) { ($0.peer("a")?.unansweredPolls ?? 0) >= 1 }
        #expect(silent?.peer("a")?.latest?.effectivePercent == 10, "the last sample is kept, for the status page")
        #expect(silent?.peer("a")?.latest.map { MonotonicClock.now() - $0.monotonicAt <= 3600 } == true, "and it is not stale")
        peer.set(load: .reply("20.00"), userload: .reply("0.00"))
        #expect(await waitForSnapshot(poller) { $0.peer("a")?.unansweredPolls == 0 && $0.peer("a")?.latest?.effectivePercent == 20 } != nil)
    }

    @Test("a peer that stops answering goes stale; history keeps the last samples")
    func staleness() async {
        let peer = ScriptedPeer("a", load: .reply("10.00"), userload: .reply("0.00"))
        let (poller, task) = Self.polling([peer], settings: Self.fast)
        defer { task.cancel() }
        let first = await waitForSnapshot(poller) { ($0.peer("a")?.latest?.sequence ?? 0) > 0 }
        #expect(first != nil)
        _ = await waitForSnapshot(poller) { _ in poller.history(of: "a").count == 5 }
        #expect(poller.history(of: "a").count == 5)
        peer.set(load: .reply("con_lost"), userload: .reply("con_lost"))
        let stale = await waitForSnapshot(poller) { snapshot in
            // Stale as the balancer judges it: the sample's monotonic age against stale_after.
            snapshot.peer("a")?.latest.map { MonotonicClock.now() - $0.monotonicAt > 0.3 } ?? true
        }
        #expect(stale != nil)
    }

    @Test("peers added on reload are polled; removed ones are dropped; staying ones keep samples")
    func reload() async {
        let a = ScriptedPeer("a", load: .reply("10.00"), userload: .reply("0.00"))
        let (poller, task) = Self.polling([a], settings: Self.fast)
        defer { task.cancel() }
        #expect(await waitForSnapshot(poller) { $0.peer("a")?.latest != nil } != nil)
        let b = ScriptedPeer("b", load: .reply("20.00"), userload: .reply("0.00"))
        poller.setPeers([b, a])
        let both = await waitForSnapshot(poller) { $0.peer("b")?.latest != nil }
        #expect(both?.peers.map(\.id) == ["b", "a"])
        #expect(both?.peer("a")?.latest != nil)
        poller.setPeers([b])
        #expect(await waitForSnapshot(poller) { $0.peer("a") == nil } != nil)
    }

    @Test("a peer answering twice between two updates: the second update carries the earlier sample too, oldest first")
    func supersededInOneUpdate() async {
        // Publishing only when the test asks (an hour's delay), so both answers fall within one window.
        let settings = PollSettings(interval: .seconds(1), timeout: .milliseconds(500), staleAfter: .seconds(3600), history: 5)
        let poller = LoadPoller(settings: settings, local: nil, logger: Logger(label: "test"), publishDelay: .seconds(3600))
        let updates = Locked<[HealthUpdate]>([])
        poller.onUpdate { update in updates.withLock { $0.append(update) } }
        let peer = ScriptedPeer("a", load: .reply("100.00"), userload: .reply("0.00"))
        poller.setPeers([peer])
        let task = Task { await poller.run() }
        defer { task.cancel() }
        let spiked = await waitForSnapshot(poller) { _ in
            updates.withLock { !$0.isEmpty } && poller.history(of: "a").contains { $0.loadPercent == 100 }
        }
        #expect(spiked != nil, "the start's update, and the link-up poll's 100 %")
        peer.set(load: .reply("90.00"), userload: .reply("0.00"))
        #expect(await waitForSnapshot(poller) { _ in poller.history(of: "a").last?.loadPercent == 90 } != nil, "the next periodic poll's 90 %")
        poller.publishIfDirty()
        let change = updates.withLock { $0.last?.changed?.first }
        #expect(change?.peer.latest?.loadPercent == 90)
        #expect(change?.superseded.contains { $0.loadPercent == 100 } == true, "the 100 % the 90 % replaced: \(String(describing: change?.superseded.map(\.loadPercent)))")
        let sequences = (change?.superseded ?? []).map(\.sequence) + [change?.peer.latest?.sequence ?? 0]
        #expect(sequences == sequences.sorted(), "oldest first, the latest last")
    }

    @Test("listeners get every update, in order")
    func listeners() async {
        let poller = LoadPoller(settings: Self.fast, local: nil, logger: Logger(label: "test"))
        let seen = Locked<[UInt64]>([])
        poller.onUpdate { update in seen.withLock { $0.append(update.generation) } }
        poller.setPeers([ScriptedPeer("a", load: .reply("1.00"), userload: .reply("1.00"))])
        let task = Task { await poller.run() }
        defer { task.cancel() }
        _ = await waitForSnapshot(poller) { $0.generation >= 3 }
        let generations = seen.withLock { $0 }
        #expect(generations.count >= 3)
        #expect(generations == generations.sorted())
    }
}

@Suite("the load poller on reload")
struct LoadPollerReloadTests {
    @Test("reconfigure applies poll.timeout and poll.history to the next polls, and the new own load source")
    func reconfigure() async throws {
        let peer = ScriptedPeer("scripted", load: .reply("12.00"), userload: .reply("12.00"))
        let folder = try TemporaryFolder()
        try "0.50 0.50 0.50 1/1 1\n".write(toFile: folder.file("a"), atomically: true, encoding: .utf8)
        try "1.50 1.50 1.50 1/1 1\n".write(toFile: folder.file("b"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: folder.file("sessions"), withIntermediateDirectories: true)
        func local(_ file: String) -> LocalLoad {
            LocalLoad(loadAverage: LoadAverageFile(path: folder.file(file)), sessions: SessionDirectory(path: folder.file("sessions"), activeWindow: .seconds(60)), loadLimit: 1, userLoadLimit: 10)
        }
        // An hour's timeout first: a silent peer would never count an unanswered poll.
        let poller = LoadPoller(settings: PollSettings(interval: .milliseconds(50), timeout: .seconds(3600), staleAfter: .seconds(1), history: 50), local: local("a"), logger: Logger(label: "poller"))
        poller.setPeers([peer])
        let task = Task { await poller.run() }
        defer { task.cancel() }
        #expect(await waitForSnapshot(poller) { $0.own?.loadPercent == 50 && poller.history(of: "scripted").count > 4 } != nil)

        poller.reconfigure(settings: PollSettings(interval: .milliseconds(50), timeout: .milliseconds(45), staleAfter: .seconds(1), history: 2), local: local("b"))
        #expect(await waitForSnapshot(poller) { _ in poller.history(of: "scripted").count == 2 } != nil, "poll.history")
        #expect(await waitForSnapshot(poller) { $0.own?.loadPercent == 150 } != nil, "agent.load_file, for this server's own load")
        #expect(poller.settings.timeout == .milliseconds(45))
        peer.set(load: .never, userload: .never)
        #expect(await waitForSnapshot(poller) { ($0.peer("scripted")?.unansweredPolls ?? 0) >= 1 } != nil, "poll.timeout: polls of a silent peer give up after 45 ms now")
    }
}

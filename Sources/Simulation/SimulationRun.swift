import Balancer
import Foundation
import Health

/// One run of a scenario with one contender, in virtual time: an agenda of
/// happenings (logins, kernel updates, polls and their answers, sessions
/// ending, the scenario's events) processed in time order. The contender sees
/// what a balancer sees; the figures are taken from the truth.
struct SimulationRun {
    let scenario: Scenario
    let logins: [LoginArrival]
    let makePicker: (_ balancer: Int, _ epoch: Int) -> any LoginPicker
    /// Spares and backups (the policy's slots), then one own server per balancer in mode `overflow`.
    var servers: [ServerModel]
    let slots: Int
    var slotOf: [String: Int] = [:]
    var pickers: [any LoginPicker] = []
    /// Per balancer: increases at each restart; happenings of an older epoch are void.
    var epochs: [Int]
    /// Per balancer, per slot: what the balancer knows.
    var linkUp: [[Bool]]
    var latest: [[LoadReading?]]
    var unanswered: [[Int]]
    var sequence: UInt64 = 0
    var timeline = Timeline()
    var book: FigureBook
    var available: [Bool]
    var series: RunSeries
    var redirects: [Int]
    var refused = 0, refusedWithRoom = 0, kept = 0, keptOverloaded = 0
    var spread: Double?
    let decay: Double
    let recordStep: Double

    init(scenario: Scenario, logins: [LoginArrival], makePicker: @escaping (Int, Int) -> any LoginPicker) {
        self.scenario = scenario
        self.logins = logins
        self.makePicker = makePicker
        let count = max(1, scenario.balancers.count)
        var specs = scenario.servers
        slots = specs.count
        if scenario.policy.mode == .overflow, let own = scenario.balancers.own {
            for index in 0..<count {
                var spec = own
                spec.id = count == 1 ? own.id : "\(own.id)\(index + 1)"
                specs.append(spec)
            }
        }
        servers = specs.enumerated().map { index, spec in ServerModel(spec: spec, seed: scenario.seed &+ UInt64(index + 1) &* 0x9E37_79B9) }
        for (slot, spec) in scenario.servers.enumerated() { slotOf[spec.id] = slot }
        epochs = Array(repeating: 0, count: count)
        linkUp = Array(repeating: Array(repeating: false, count: slots), count: count)
        latest = Array(repeating: Array(repeating: nil, count: slots), count: count)
        unanswered = Array(repeating: Array(repeating: 0, count: slots), count: count)
        book = FigureBook(settled: servers.map(\.settled), slots: slots, maxLoad: scenario.policy.maxLoad)
        available = Array(repeating: true, count: slots)
        series = RunSeries(ids: specs.map(\.id), loads: Array(repeating: [], count: specs.count))
        redirects = Array(repeating: 0, count: slots)
        decay = exp(-scenario.kernel.updatePeriod / scenario.kernel.timeConstant)
        recordStep = max(1, (scenario.duration / 600).rounded(.up))
        pickers = (0..<count).map { makePicker($0, 0) }
    }

    mutating func run(contender: String) -> RunResult {
        var phases = SplitMix64(seed: scenario.seed &+ 0xC0FFEE)
        for index in servers.indices {
            timeline.schedule(.kernelUpdate(server: index), at: phases.unit() * scenario.kernel.updatePeriod)
        }
        for balancer in epochs.indices { start(balancer, at: 0) }
        for index in logins.indices { timeline.schedule(.login(index: index), at: logins[index].time) }
        for (index, event) in scenario.events.enumerated() { timeline.schedule(.event(index: index), at: event.at) }
        timeline.schedule(.record, at: 0)
        timeline.schedule(.measureSpread, at: scenario.spreadTime)
        while let entry = timeline.next(), entry.time <= scenario.duration {
            handle(entry.happening, at: entry.time)
        }
        book.closeAll(at: scenario.duration)
        let figures = RunFigures(
            contender: contender, peak: book.peak, peakServer: servers[book.peakSlot].spec.id, secondsOver: book.secondsOver, spread: spread,
            logins: logins.count, refused: refused, refusedWithRoom: refusedWithRoom, kept: kept, keptOverloaded: keptOverloaded,
            ownPeak: book.ownPeak, redirects: redirects)
        return RunResult(figures: figures, series: series)
    }

    // MARK: - Balancers and their polls

    /// A balancer (re)starts at `time`: its links come up after `poll.connect`,
    /// each is polled at once, then periodically from slots spread over one interval.
    mutating func start(_ balancer: Int, at time: Double) {
        let epoch = epochs[balancer]
        var generator = SplitMix64(seed: scenario.seed &+ UInt64(balancer) &* 7919 &+ UInt64(epoch) &* 104_729)
        let offsets = PollSchedule.firstOffsets(count: slots, interval: scenario.poll.interval, jitter: scenario.poll.jitter, using: &generator)
        for slot in 0..<slots {
            timeline.schedule(.linkUp(balancer: balancer, server: slot, epoch: epoch), at: time + scenario.poll.connect)
            timeline.schedule(.poll(balancer: balancer, server: slot, epoch: epoch), at: time + scenario.poll.connect + offsets[slot])
        }
        if servers.count > slots { timeline.schedule(.ownSample(balancer: balancer, epoch: epoch), at: time) }
    }

    mutating func send(_ balancer: Int, _ slot: Int, at time: Double) {
        let epoch = epochs[balancer]
        if servers[slot].running, servers[slot].answering {
            timeline.schedule(.reply(balancer: balancer, server: slot, epoch: epoch), at: time + scenario.poll.latency)
        } else {
            timeline.schedule(.timeout(balancer: balancer, server: slot, epoch: epoch), at: time + scenario.poll.timeout)
        }
    }

    /// Tells balancer `balancer` what it now knows of `slot`.
    mutating func tell(_ balancer: Int, about slot: Int, at time: Double) {
        let up = linkUp[balancer][slot]
        let observation = SpareObservation(
            id: servers[slot].spec.id, domain: scenario.policy.ownDomain, linkUp: up, linkState: up ? "up" : "backoff",
            reading: latest[balancer][slot], drain: servers[slot].drained ? Drain(reason: "drained by the scenario") : nil,
            unansweredPolls: unanswered[balancer][slot])
        pickers[balancer].observe(SpareChange(observation), now: time)
    }

    mutating func tellEveryBalancer(about slot: Int, at time: Double) {
        for balancer in epochs.indices { tell(balancer, about: slot, at: time) }
    }

    mutating func setLinks(of slot: Int, up: Bool, at time: Double) {
        for balancer in epochs.indices {
            if up {
                timeline.schedule(.linkUp(balancer: balancer, server: slot, epoch: epochs[balancer]), at: time + scenario.poll.connect)
            } else {
                linkUp[balancer][slot] = false
                tell(balancer, about: slot, at: time)
            }
        }
    }

    // MARK: - Truth

    mutating func refresh(_ index: Int, at time: Double) {
        book.set(index, to: servers[index].settled, at: time)
        if index < slots {
            let server = servers[index]
            available[index] = server.running && server.reachable && server.answering && !server.drained
        }
    }

    /// Some available spare or backup could take one more login without passing `max_load`.
    func roomExists() -> Bool {
        (0..<slots).contains { slot in
            guard available[slot], let load = servers[slot].settled else { return false }
            return load + servers[slot].loginPercent(scenario.session) <= scenario.policy.maxLoad
        }
    }

    /// Whether `balancer` has a fresh sample of some spare over a link that is up.
    func knowsASample(_ balancer: Int, at time: Double) -> Bool {
        (0..<slots).contains { slot in
            guard linkUp[balancer][slot], let reading = latest[balancer][slot] else { return false }
            return time - reading.takenAt <= scenario.poll.staleAfter
        }
    }

    func ownIndex(_ balancer: Int) -> Int? {
        servers.count > slots ? slots + balancer : nil
    }

    mutating func land(_ login: LoginArrival, on index: Int, at time: Double) {
        guard servers[index].running else { return }
        servers[index].open(scenario.session)
        refresh(index, at: time)
        timeline.schedule(
            .sessionEnd(server: index, work: scenario.session.work, counted: scenario.session.counted, boot: servers[index].boot),
            at: time + login.length)
    }
}

/// The figures of one run (one scenario, one contender), as docs/BALANCING.md tabulates them.
public struct RunFigures: Sendable, Equatable {
    /// The contender: `balancerd` or a baseline's name.
    public var contender: String
    /// The highest settled load any spare or backup reached, and which.
    public var peak: Double
    public var peakServer: String
    /// Spare-seconds above `max_load`: each second a spare's settled load is above it counts one.
    public var secondsOver: Double
    /// Highest minus lowest settled load of the available spares when the storm ends.
    public var spread: Double?
    /// Logins in the run.
    public var logins: Int
    /// Logins with no target (503), and of those the ones refused while a spare
    /// had room and the balancer had a fresh sample of some spare (not before
    /// its first answer after a start: it knew nothing then).
    public var refused: Int
    public var refusedWithRoom: Int
    /// Logins kept on the balancer's own server (mode `overflow`), and of those
    /// the ones kept while it was above `max_load` and a spare had room.
    public var kept: Int
    public var keptOverloaded: Int
    /// The highest settled load of a balancer's own server (mode `overflow`).
    public var ownPeak: Double?
    /// Logins each spare and backup received, in configured order.
    public var redirects: [Int]
}

/// Each server's settled load over the run, for the plots.
public struct RunSeries: Sendable {
    /// The servers: spares, backups, then the balancers' own.
    public var ids: [String]
    /// Seconds of virtual time of each point.
    public var times: [Double] = []
    /// By server, one point per time: settled load (NaN while down).
    public var loads: [[Float]]
}

/// A run's figures and series.
public struct RunResult: Sendable {
    public var figures: RunFigures
    public var series: RunSeries
}

/// Keeps the figures up to date as settled loads change: time above
/// `max_load` is integrated exactly between changes, not sampled.
struct FigureBook {
    let maxLoad: Double
    let slots: Int
    var settled: [Double?]
    var changedAt: [Double]
    var secondsOver = 0.0
    var peak = 0.0
    var peakSlot = 0
    var ownPeak: Double?

    init(settled: [Double?], slots: Int, maxLoad: Double) {
        self.maxLoad = maxLoad
        self.slots = slots
        self.settled = settled
        changedAt = Array(repeating: 0, count: settled.count)
        for index in settled.indices { notePeak(index) }
    }

    /// Server `index`'s settled load becomes `value` at `time`.
    mutating func set(_ index: Int, to value: Double?, at time: Double) {
        close(index, at: time)
        settled[index] = value
        notePeak(index)
    }

    /// Counts the time up to `time` for every server (the end of the run).
    mutating func closeAll(at time: Double) {
        for index in settled.indices { close(index, at: time) }
    }

    private mutating func close(_ index: Int, at time: Double) {
        if index < slots, let load = settled[index], load > maxLoad + 1e-9 { secondsOver += time - changedAt[index] }
        changedAt[index] = time
    }

    private mutating func notePeak(_ index: Int) {
        guard let load = settled[index] else { return }
        if index >= slots {
            ownPeak = Swift.max(ownPeak ?? load, load)
        } else if load > peak {
            peak = load
            peakSlot = index
        }
    }
}

import Balancer

/// One simulated situation: the servers, the logins and when they come, how
/// the balancers poll, and what goes wrong on the way. All times are seconds of
/// virtual time from the start of the run; loads are percentages (100 = the
/// server's configured limit), as the agent reports them.
///
/// A scenario is a value: `balancerd simulate` reads one from a YAML file
/// (`ScenarioLoader`, docs/BALANCING.md has the keys), tests build them in code.
public struct Scenario: Sendable {
    /// A short name, e.g. `storm-one-idle`.
    public var name: String
    /// One sentence for tables and plots.
    public var summary: String
    /// Seeds every random choice: the same seed gives the same run, byte for byte.
    public var seed: UInt64
    /// Virtual time simulated.
    public var duration: Double
    /// When the spread of settled load is measured ("at the end of the storm");
    /// nil: when the last storm's logins have all arrived, else at the end.
    public var measureSpreadAt: Double?
    /// How each balancer polls its spares (`poll.*`).
    public var poll: PollModel
    /// The balancer's settings (`balancer.*`); its spares and backups are the servers'.
    public var policy: BalancerPolicy {
        didSet { if policy.spares + policy.backups != servers.map(\.id) { nameServers() } }
    }
    /// The spares and backups (they are the policy's spares and backups).
    public var servers: [ServerSpec] {
        didSet { nameServers() }
    }
    /// How many balancers take logins, and the servers they run on.
    public var balancers: BalancerGroup
    /// What one login brings to the server it lands on.
    public var session: SessionModel
    /// How logins arrive.
    public var arrivals: [Arrival]
    /// What happens to servers, links and balancers during the run.
    public var events: [ScenarioEvent]
    /// Linux's load average as the spares compute it.
    public var kernel: KernelModel
    /// balancerd with other settings, run beside it: (name, policy).
    public var variants: [(name: String, policy: BalancerPolicy)] = []

    public init(
        name: String, summary: String = "", seed: UInt64 = 1, duration: Double, measureSpreadAt: Double? = nil, poll: PollModel = PollModel(),
        policy: BalancerPolicy, servers: [ServerSpec], balancers: BalancerGroup = BalancerGroup(), session: SessionModel = SessionModel(),
        arrivals: [Arrival], events: [ScenarioEvent] = [], kernel: KernelModel = KernelModel()
    ) {
        self.name = name
        self.summary = summary
        self.seed = seed
        self.duration = duration
        self.measureSpreadAt = measureSpreadAt
        self.poll = poll
        self.policy = policy
        self.servers = servers
        self.balancers = balancers
        self.session = session
        self.arrivals = arrivals
        self.events = events
        self.kernel = kernel
        nameServers()
    }

    private mutating func nameServers() {
        policy.spares = servers.filter { !$0.backup }.map(\.id)
        policy.backups = servers.filter(\.backup).map(\.id)
    }

    /// When the spread is measured: `measureSpreadAt`, else when the last storm ends, else the end.
    public var spreadTime: Double {
        if let measureSpreadAt { return measureSpreadAt }
        let stormEnds = arrivals.compactMap { arrival -> Double? in
            if case .storm(_, let at, let over) = arrival.pattern { return at + over }
            return nil
        }
        return min(duration, stormEnds.max() ?? duration)
    }
}

/// `poll.*` as the simulated balancers use them, and the network's delays.
public struct PollModel: Sendable, Equatable {
    /// Time between two polls of one spare.
    public var interval: Double = 2
    /// How far each spare's first poll moves from its even slot (`PollSchedule`).
    public var jitter: Double = 0.5
    /// A poll unanswered this long counts as unanswered.
    public var timeout: Double = 1
    /// A sample older than this does not count.
    public var staleAfter: Double = 6
    /// Round trip of one poll.
    public var latency: Double = 0.002
    /// From a balancer's start (or a link's return) to its link being up.
    public var connect: Double = 0.05

    public init(interval: Double = 2, jitter: Double = 0.5, timeout: Double = 1, staleAfter: Double = 6, latency: Double = 0.002, connect: Double = 0.05) {
        self.interval = interval
        self.jitter = jitter
        self.timeout = timeout
        self.staleAfter = staleAfter
        self.latency = latency
        self.connect = connect
    }
}

/// One spare or backup.
public struct ServerSpec: Sendable, Equatable {
    /// Its id (as in the hosts table).
    public var id: String
    /// True for a backup (`balancer.backups`).
    public var backup: Bool
    /// The 1-minute load average that counts as 100 % (`agent.load_limit`).
    public var loadLimit: Double
    /// The sessions that count as 100 % (`agent.user_load_limit`).
    public var userLoadLimit: Double
    /// Load (percent of `loadLimit`) from work other than the simulated logins; the load average starts settled there.
    public var load: Double
    /// Sessions already open at the start (they last the whole run).
    public var sessions: Int
    /// Spread (standard deviation, in load percent) of the run queue the kernel samples every update.
    public var noise: Double

    public init(id: String, backup: Bool = false, loadLimit: Double = 2, userLoadLimit: Double = 500, load: Double, sessions: Int = 0, noise: Double = 0) {
        self.id = id
        self.backup = backup
        self.loadLimit = loadLimit
        self.userLoadLimit = userLoadLimit
        self.load = load
        self.sessions = sessions
        self.noise = noise
    }
}

/// The balancers: `count` instances, each with its own state, each taking an
/// equal share of the logins (LON-CAPA runs the login handler on every access server).
public struct BalancerGroup: Sendable, Equatable {
    /// How many balancers.
    public var count: Int
    /// Each balancer's own server, in mode `overflow` (nil: the balancers take no logins themselves).
    public var own: ServerSpec?

    public init(count: Int = 1, own: ServerSpec? = nil) {
        self.count = count
        self.own = own
    }
}

/// What a login brings to the server it lands on.
public struct SessionModel: Sendable, Equatable {
    /// Run-queue length (load average units) the session adds while it lasts: 0.02 is one percentage point at `load_limit` 2.
    public var work: Double
    /// How long a session lasts, on average.
    public var length: Double
    /// True: lengths vary (exponential around `length`); false: every session lasts `length`.
    public var exponential: Bool
    /// Whether a login opens a session file the agent counts (`userload`); false on a load-average-only site.
    public var counted: Bool
    /// A session counts for `userload` until this long after it ends (`agent.active_window`).
    public var activeWindow: Double

    public init(work: Double = 0.02, length: Double = 3000, exponential: Bool = false, counted: Bool = true, activeWindow: Double = 1800) {
        self.work = work
        self.length = length
        self.exponential = exponential
        self.counted = counted
        self.activeWindow = activeWindow
    }
}

/// How logins arrive.
public struct Arrival: Sendable, Equatable {
    /// The pattern in time.
    public var pattern: Pattern
    /// The balancer that takes them (0-based); nil: each login goes to one of them at random.
    public var balancer: Int?

    public enum Pattern: Sendable, Equatable {
        /// `rate` logins a second, evenly spaced, from `from` to `to`.
        case steady(rate: Double, from: Double, to: Double)
        /// `rate` logins a second on average (a Poisson process), from `from` to `to`.
        case poisson(rate: Double, from: Double, to: Double)
        /// `count` logins at random moments within `over` seconds from `at` (the start of a class).
        case storm(count: Int, at: Double, over: Double)
        /// A Poisson process whose rate steps from `before` to `after` at `at`, until `to`.
        case step(at: Double, before: Double, after: Double, to: Double)
    }

    public init(_ pattern: Pattern, balancer: Int? = nil) {
        self.pattern = pattern
        self.balancer = balancer
    }
}

/// Something that happens during a run.
public struct ScenarioEvent: Sendable, Equatable {
    /// When.
    public var at: Double
    /// What.
    public var kind: Kind

    public enum Kind: Sendable, Equatable {
        /// The server goes down for `down` seconds, then boots: its sessions are
        /// gone and its load average starts again from 0.
        case reboot(server: String, down: Double)
        /// The server keeps its link but answers no poll for `duration` seconds.
        case stopAnswering(server: String, duration: Double)
        /// The link to the server drops for `duration` seconds (the server runs on).
        case linkDown(server: String, duration: Double)
        /// An operator drains the server for `duration` seconds.
        case drain(server: String, duration: Double)
        /// The server's other work changes to `load` percent.
        case loadStep(server: String, load: Double)
        /// A balancer restarts: it forgets everything and polls again from scratch.
        case restart(balancer: Int)
    }

    public init(at: Double, _ kind: Kind) {
        self.at = at
        self.kind = kind
    }
}

/// Linux's load average (kernel/sched/loadavg.c): every `updatePeriod` seconds
/// `load = load × e + running × (1 − e)` with `e = exp(−updatePeriod / timeConstant)`.
public struct KernelModel: Sendable, Equatable {
    /// Seconds between two updates (LOAD_FREQ: 5 s).
    public var updatePeriod: Double
    /// The 1-minute average's time constant (60 s).
    public var timeConstant: Double

    public init(updatePeriod: Double = 5, timeConstant: Double = 60) {
        self.updatePeriod = updatePeriod
        self.timeConstant = timeConstant
    }
}

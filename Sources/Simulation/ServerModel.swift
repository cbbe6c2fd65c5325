import Balancer
import Foundation

/// The truth about one simulated server: the work it runs, the sessions it
/// counts, and the load average its kernel computes from them. The balancers
/// never read this directly; they see what a poll of the agent would answer.
struct ServerModel {
    let spec: ServerSpec
    /// Run-queue length from work other than the simulated logins.
    var background: Double
    /// Run-queue length the simulated sessions add (those still running).
    var work = 0.0
    /// Sessions the agent counts (`userload`): those open at the start, then
    /// each simulated one until `active_window` after it ends.
    var sessions: Int
    /// The 1-minute load average, as the kernel has it now.
    var loadAverage: Double
    /// False while rebooting.
    var running = true
    /// False while it answers no poll.
    var answering = true
    /// False while the links to it are down.
    var reachable = true
    /// True while an operator drains it.
    var drained = false
    /// Increases at each reboot: sessions of an earlier boot end nowhere.
    var boot = 0
    /// The kernel's run-queue noise.
    var noise: SplitMix64

    init(spec: ServerSpec, seed: UInt64) {
        self.spec = spec
        background = spec.load / 100 * spec.loadLimit
        sessions = spec.sessions
        loadAverage = background
        noise = SplitMix64(seed: seed)
    }

    /// What the agent answers to `load`: two decimals, as on the wire.
    var loadPercent: Double { Self.wire(100 * loadAverage / spec.loadLimit) }

    /// What the agent answers to `userload`.
    var userLoadPercent: Double { Self.wire(100 * Double(sessions) / spec.userLoadLimit) }

    /// The load this server settles at if nothing changes: the larger of the run
    /// queue's load and the sessions' (nil while it is down). What "overloaded" means.
    var settled: Double? {
        guard running else { return nil }
        let load = max(100 * (background + work) / spec.loadLimit, 100 * Double(sessions) / spec.userLoadLimit)
        return (load * 1e6).rounded() / 1e6  // the sums of many sessions' work, without their rounding dust
    }

    /// How much one more login would add to `settled`, in points.
    func loginPercent(_ session: SessionModel) -> Double {
        max(100 * session.work / spec.loadLimit, session.counted ? 100 / spec.userLoadLimit : 0)
    }

    /// A kernel update (every `KernelModel.updatePeriod`): the load average
    /// moves toward the run queue sampled now.
    mutating func kernelUpdate(decay: Double) {
        guard running else { return }
        var running = background + work
        if spec.noise > 0 { running = max(0, running + gaussian() * spec.noise / 100 * spec.loadLimit) }
        loadAverage = loadAverage * decay + running * (1 - decay)
    }

    /// A login lands here.
    mutating func open(_ session: SessionModel) {
        work += session.work
        if session.counted { sessions += 1 }
    }

    /// Goes down: sessions and load gone; it boots with its other work and a load average of 0.
    mutating func goDown() {
        running = false
        reachable = false
        work = 0
        sessions = 0
        loadAverage = 0
        boot += 1
    }

    mutating func bootUp() {
        running = true
        reachable = true
    }

    private mutating func gaussian() -> Double {
        // Box–Muller: two uniform numbers, one normal one.
        let u1 = max(noise.unit(), 1e-12), u2 = noise.unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    private static func wire(_ value: Double) -> Double { (value * 100).rounded() / 100 }
}

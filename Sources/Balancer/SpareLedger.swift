#if canImport(Glibc)
import Glibc  // exp
#elseif canImport(Darwin)
import Darwin
#endif

/// The logins this balancer sent one server that its samples may not show
/// yet (the predicted-load ledger), and what a login costs there.
///
/// The two figures of a sample show a login at different speeds. `userload`
/// counts the session at once: a login booked before a sample is in it.
/// `load` follows Linux's 1-minute load average, which moves a twelfth of the
/// way toward the run queue every 5 s: a login's work shows about 8 % after
/// 5 s and 63 % after a minute (`timeConstant`, 60 s). So a login booked `a`
/// seconds before a sample is still missing `exp(−a / τ)` of its cost from
/// that sample's `load`:
///
///     login ──▶ sample 2 s later: load shows 3 % of it, userload all of it
///           ──▶ sample 60 s later: load shows 63 %
///
///     predicted load     = load     + loadCost × (residual + sinceSample)
///     predicted userload = userload + userCost × sinceSample
///
/// `residual` is Σ exp(−(s − tᵢ) / τ) over the logins booked before the last
/// sample (taken at s): it fades with the load average's own time constant
/// instead of being wiped by the next sample. With `τ = 0` it is always 0 and
/// the ledger is the plain "logins since the last sample".
///
/// The costs are the configured `login_cost`, or learned (`learn_login_cost`):
/// between two samples each figure moved by `y` while the logins booked here
/// made `x` more of it visible (`x` = logins for `userload`, the part of
/// their work the load average came to show for `load`); the cost is the
/// least-squares slope of `y` on `x` over the recent past, pulled toward the
/// configured figure until there is evidence (`CostFit`). Logins that other
/// balancers send at the same time move `y` too, so the cost learned is what
/// one login from here brings along: the ledger then also counts the others'.
///
/// O(1) per login and per sample: the logins since the sample are kept as a
/// count and the sum of their offsets from it, enough to fold them into the
/// residual at the next sample (to first order in offset / τ: within 0.5 %
/// for offsets up to `stale_after`, 6 s, against τ = 60 s).
struct SpareLedger: Sendable, Equatable {
    /// A sample's two figures.
    struct Figures: Sendable, Equatable {
        var load: Double?
        var userload: Double?
    }

    /// When the sample the ledger counts from was taken.
    private(set) var sampleAt = 0.0
    /// Logins booked since that sample.
    private(set) var sinceSample = 0.0
    /// Σ (tᵢ − sampleAt) over those logins.
    private var sinceOffsets = 0.0
    /// Σ exp(−(sampleAt − tᵢ) / τ) over the logins before the sample.
    private(set) var residual = 0.0
    /// The figures of the last sample the fits count from (nil: none yet, or
    /// the server was away since: a reboot's drop is not a login's cost).
    private var last: Figures?
    var loadFit = CostFit()
    var userFit = CostFit()
    /// The load figure's recent slope (points a second, averaged over ~20 s) and its last value and time.
    private(set) var slope = 0.0
    private var lastLoad: TimedValue?

    struct TimedValue: Sendable, Equatable {
        var value: Double
        var at: Double
    }

    /// Where the load figure is heading by its own trend: a first-order lag
    /// moving at `slope` is `τ × slope` short of where it settles (nil: not rising).
    func trendSettled(timeConstant: Double) -> Double? {
        guard let lastLoad, slope > 0, timeConstant > 0 else { return nil }
        return lastLoad.value + timeConstant * slope
    }

    /// Books one login at `now`.
    mutating func book(at now: Double) {
        sinceSample += 1
        sinceOffsets += max(0, now - sampleAt)
    }

    /// A new sample taken at `time`: the logins booked so far fold into the
    /// residual, faded to `time` with the load figure's time constant; with
    /// `learn`, the sample's movement since the last one feeds the cost fits.
    mutating func sample(load: Double?, userload: Double?, at time: Double, timeConstant: Double, learn: Bool) {
        if let load {
            if let previous = lastLoad, time > previous.at {
                let weight = 1 - exp(-(time - previous.at) / 20)
                slope += ((load - previous.value) / (time - previous.at) - slope) * weight
            }
            lastLoad = TimedValue(value: load, at: time)
        }
        let booked = sinceSample
        let before = residual + sinceSample
        if timeConstant > 0 {
            let fade = exp(-max(0, time - sampleAt) / timeConstant)
            residual = fade * (residual + sinceSample + sinceOffsets / timeConstant)
            if residual < 1e-3 { residual = 0 }
        } else {
            residual = 0
        }
        let shown = before - residual
        if learn, time >= learnsFrom, let last {
            if let load, let previous = last.load { loadFit.add(x: shown, y: load - previous) }
            if let userload, let previous = last.userload { userFit.add(x: booked, y: userload - previous) }
        }
        if time >= learnsFrom { last = Figures(load: load, userload: userload) }
        sinceSample = 0
        sinceOffsets = 0
        sampleAt = time
    }

    /// The server was away (link down, not answering, drained) and is back
    /// at `time`: what it booked before stays booked, and the fits wait three
    /// time constants before they learn again. A rebooted server's load
    /// average climbs from 0 back to its other work meanwhile, and that climb
    /// is not the cost of the logins sent to it.
    mutating func interrupt(until time: Double) {
        last = nil
        learnsFrom = time
    }

    /// No learning from samples before this time.
    private var learnsFrom = -Double.infinity

    /// Logins the sample's `load` does not show yet.
    var pendingLoad: Double { residual + sinceSample }

    /// Logins the sample's `userload` does not show yet.
    var pendingSessions: Double { sinceSample }
}

/// A least-squares slope through the origin with forgetting and a prior:
///
///     cost = (Σ λᵏ xy + w · prior) / (Σ λᵏ x² + w)
///
/// `w` is the prior's weight: with no evidence the cost is the prior (the
/// configured `login_cost`); as logins make the figure move, the evidence
/// outweighs it. `w` is small (a quarter of one login fully shown): the
/// simulator's spares of different sizes need the cost within a minute of a
/// storm's start (docs/BALANCING.md, `sizes`: peak 89 % at 0.25, 91 % at 1,
/// 94 % at 4). λ forgets a sample's weight by half in about 350 samples
/// (12 minutes at a 2 s poll interval): the cost of a login changes with what
/// users do, not from one minute to the next.
struct CostFit: Sendable, Equatable {
    static let forgetting = 0.998
    static let priorWeight = 0.25
    private(set) var xy = 0.0
    private(set) var xx = 0.0

    mutating func add(x: Double, y: Double) {
        xy = xy * Self.forgetting + x * y
        xx = xx * Self.forgetting + x * x
    }

    /// The slope, pulled toward `prior`, never negative.
    func cost(prior: Double) -> Double {
        max(0, (xy + Self.priorWeight * prior) / (xx + Self.priorWeight))
    }

    /// How much evidence there is, as a share of the prior's weight (for /status).
    var evidence: Double { xx / Self.priorWeight }
}

import Balancer
import Foundation

/// One login of a run: when it arrives, at which balancer, how long its session lasts.
struct LoginArrival: Sendable {
    var time: Double
    var balancer: Int
    var length: Double
}

/// Every login of a scenario, drawn once from its seed: every policy of a run
/// faces the same logins at the same moments (common random numbers), so
/// their figures differ by their decisions alone.
enum LoginSchedule {
    static func logins(for scenario: Scenario) -> [LoginArrival] {
        var generator = SplitMix64(seed: scenario.seed &* 0x5851_F42D_4C95_7F2D &+ 1)
        var times: [(Double, Int?)] = []
        for arrival in scenario.arrivals {
            for time in moments(arrival.pattern, end: scenario.duration, using: &generator) { times.append((time, arrival.balancer)) }
        }
        times.sort { $0.0 < $1.0 }
        let count = max(1, scenario.balancers.count)
        return times.map { time, balancer in
            let length = scenario.session.exponential
                ? -log(max(generator.unit(), 1e-12)) * scenario.session.length : scenario.session.length
            let chosen = balancer.map { min(max($0, 0), count - 1) } ?? Int(generator.next() % UInt64(count))
            return LoginArrival(time: time, balancer: chosen, length: length)
        }
    }

    private static func moments(_ pattern: Arrival.Pattern, end: Double, using generator: inout SplitMix64) -> [Double] {
        switch pattern {
        case .steady(let rate, let from, let to):
            guard rate > 0 else { return [] }
            return Array(stride(from: from, to: min(to, end), by: 1 / rate))
        case .poisson(let rate, let from, let to):
            return poisson(rate: rate, from: from, to: min(to, end), using: &generator)
        case .storm(let count, let at, let over):
            return (0..<max(0, count)).map { _ in at + generator.unit() * over }.filter { $0 < end }.sorted()
        case .step(let at, let before, let after, let to):
            return poisson(rate: before, from: 0, to: min(at, end), using: &generator)
                + poisson(rate: after, from: at, to: min(to, end), using: &generator)
        }
    }

    private static func poisson(rate: Double, from: Double, to: Double, using generator: inout SplitMix64) -> [Double] {
        guard rate > 0 else { return [] }
        var moments: [Double] = []
        var time = from
        while true {
            time += -log(max(generator.unit(), 1e-12)) / rate
            if time >= to { return moments }
            moments.append(time)
        }
    }
}

// Nanoseconds per balancer decision with 10, 100 and 1,000 spares, side by
// side with a plain reference: lonnet's spareserver rule (a loop for the
// minimum load over the same spares). Run: swift run -c release DecisionBenchmark
import Balancer
import Foundation

func nanoseconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start)
}

// Logins cost 0.0001 points here, not the default 0.5: with admission by
// predicted load, 2 million logins between two samples at 0.5 would bring
// every spare to max_load within the first few thousand, and the rest would
// be measured as "no target". At 0.0001 the ledger still spreads every login
// and no spare fills up. `DecisionBenchmark 0.5` measures the default cost.
let loginCost = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 0.0001
var generator = SplitMix64(seed: 42)
print("| spares | balancerd ns/decision | lonnet rule ns/decision | ratio |")
print("| --- | --- | --- | --- |")
for count in [10, 100, 1000] {
    let ids = (0..<count).map { "s\($0)" }
    let loads = ids.map { _ in Double.random(in: 5...95, using: &generator) }
    var state = BalancerState(policy: BalancerPolicy(mode: .always, spares: ids, ownDomain: "d", loginCost: loginCost, slowStart: 0, staleAfter: 1e9))
    state.update(
        BalancerInput(own: LoadReading(effective: 50, takenAt: 0, sequence: 1),
                      spares: zip(ids, loads).map { SpareObservation(id: $0, domain: "d", linkUp: true, reading: LoadReading(effective: $1, takenAt: 0, sequence: 1)) }),
        now: 0)
    let iterations = count >= 1000 ? 200_000 : 2_000_000
    var sink = 0
    // Warm up, then measure; the ledger keeps spreading logins, as in production between two samples.
    for _ in 0..<10_000 { if case .spare = state.route(now: 1) { sink &+= 1 } }
    let ours = nanoseconds {
        for _ in 0..<iterations { if case .spare = state.route(now: 1) { sink &+= 1 } }
    } / Double(iterations)
    // The reference: lonnet's rule, the lowest load of the last poll.
    var reference = loads
    let plain = nanoseconds {
        for iteration in 0..<iterations {
            var best = 0
            for index in 1..<reference.count where reference[index] < reference[best] { best = index }
            sink &+= best
            reference[iteration % count] += 0  // keep the loop from being hoisted
        }
    } / Double(iterations)
    print("| \(count) | \(String(format: "%.1f", ours)) | \(String(format: "%.1f", plain)) | \(String(format: "%.2f", ours / plain)) |")
    if sink == 42 { print("") }
}

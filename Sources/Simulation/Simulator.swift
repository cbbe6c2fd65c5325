import Balancer

/// Runs a scenario with balancerd's policy and with each baseline, on the
/// same logins (docs/BALANCING.md). Deterministic for the scenario's seed.
///
///     let results = Simulator(scenario).run(Simulator.contenders(for: scenario))
public struct Simulator: Sendable {
    /// What decides the logins in one run.
    public enum Contender: Sendable, Equatable {
        /// balancerd's policy (`BalancerState`), under a name.
        case policy(name: String, BalancerPolicy)
        /// A baseline.
        case baseline(Baseline)

        public var name: String {
            switch self {
            case .policy(let name, _): name
            case .baseline(let baseline): baseline.rawValue
            }
        }
    }

    public let scenario: Scenario
    let logins: [LoginArrival]

    public init(_ scenario: Scenario) {
        self.scenario = scenario
        logins = LoginSchedule.logins(for: scenario)
    }

    /// balancerd with the scenario's policy, its variants, then every baseline.
    public static func contenders(for scenario: Scenario) -> [Contender] {
        [.policy(name: "balancerd", scenario.policy)]
            + scenario.variants.map { variant in
                var policy = variant.policy
                policy.spares = scenario.policy.spares
                policy.backups = scenario.policy.backups
                return .policy(name: "balancerd, \(variant.name)", policy)
            }
            + Baseline.allCases.map(Contender.baseline)
    }

    /// One run per contender, in order.
    public func run(_ contenders: [Contender]) -> [RunResult] {
        contenders.map(run)
    }

    /// One run.
    public func run(_ contender: Contender) -> RunResult {
        let seed = scenario.seed
        let makePicker: (Int, Int) -> any LoginPicker
        switch contender {
        case .policy(_, let policy):
            makePicker = { balancer, epoch in PolicyPicker(policy: policy, seed: Self.seed(seed, balancer, epoch)) }
        case .baseline(let baseline):
            let policy = scenario.policy
            makePicker = { balancer, epoch in BaselinePicker(rule: baseline, policy: policy, seed: Self.seed(seed, balancer, epoch)) }
        }
        var run = SimulationRun(scenario: scenario, logins: logins, makePicker: makePicker)
        return run.run(contender: contender.name)
    }

    private static func seed(_ seed: UInt64, _ balancer: Int, _ epoch: Int) -> UInt64 {
        seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(balancer) &* 0x1000_0001 &+ UInt64(epoch)
    }
}

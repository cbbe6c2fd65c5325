import ArgumentParser
import BalancerdCore
import Foundation
import Simulation

/// `balancerd simulate SCENARIO.yaml…`: the balancer's policy in virtual time, against baselines.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the balancer's policy on a scenario in virtual time, side by side with baselines.",
        discussion: """
            A scenario (examples/scenarios/*.yaml; docs/BALANCING.md lists its keys) \
            describes spares and their capacity, what a login brings and how long a \
            session lasts, when logins arrive, and what goes wrong (reboots, silent \
            spares, cut links, balancer restarts). Its poll: and balancer: sections are \
            those of balancerd.yaml, so a scenario runs the policy a config would set.

            The run drives the Balancer module itself (the code serve runs, fed as the \
            daemon feeds it) through Linux's load average, polls with jitter and \
            timeouts, and one or more balancers each with its own state; then the same \
            logins with each baseline: round-robin, random, least-loaded (lonnet's \
            rule, no ledger), power-of-two (the lower of two random samples), \
            haproxy-agent (HAProxy's roundrobin with balancerd agent's agent-check \
            weights) and the oracle (the lowest true settled load: a bound, not a \
            baseline). Deterministic for the scenario's seed.

            Prints per scenario and policy: the peak settled load of any spare, \
            spare-seconds above max_load, the spread of settled load when the storm \
            ends, logins with no target (503; in brackets those refused while a spare \
            had room) and logins kept on the balancer's own server (overflow; in \
            brackets those kept while it was overloaded and a spare had room).

            --check exits 1 unless, in every scenario the cluster can absorb, no spare \
            passes max_load, no login is refused or kept overloaded while a spare has \
            room, and balancerd's peak and seconds over max_load are no worse than the \
            best baseline's.
            """)

    @Argument(help: ArgumentHelp("Scenario files.", valueName: "SCENARIO.yaml"))
    var scenarios: [String]

    @Option(help: ArgumentHelp("Write the plot of the (single) scenario here, one panel per policy.", valueName: "FILE"))
    var svg: String?

    @Option(help: ArgumentHelp("Write one plot per scenario into this folder, as <name>.svg.", valueName: "DIR"))
    var plots: String?

    @Option(name: .customLong("policy"), help: ArgumentHelp("Run only these (balancerd, or a baseline's name); repeatable.", valueName: "NAME"))
    var policies: [String] = []

    @Option(help: "Use this seed instead of the scenario's.")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Run each scenario with this many seeds, from its own (or --seed) up; tables and --check for each, plots for the first.", valueName: "N"))
    var seeds: Int = 1

    @Flag(help: "Print the tables in Markdown (docs/BALANCING.md), with a link to each plot when --plots is given.")
    var markdown = false

    @Flag(help: "Exit 1 unless balancerd's policy holds in every scenario (see above).")
    var check = false

    func validate() throws {
        if svg != nil, scenarios.count != 1 { throw ValidationError("--svg takes one scenario; use --plots DIR for several") }
        if seeds < 1 || seeds > 1_000 { throw ValidationError("--seeds \(seeds): from 1 to 1000") }
        let known = ["balancerd"] + Baseline.allCases.map(\.rawValue)
        for name in policies where !known.contains(name) {
            throw ValidationError("--policy \(name): not one of \(known.joined(separator: ", "))")
        }
    }

    func run() throws {
        if let plots {
            do {
                try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: true)
            } catch {
                throw ValidationError("--plots \(plots): cannot make the folder: \(error.localizedDescription)")
            }
        }
        var failed: [String] = []
        for path in scenarios {
            var scenario: Scenario
            do {
                scenario = try ScenarioLoader().load(path: path)
            } catch {
                for problem in error.problems { printToStandardError(problem.description) }
                printToStandardError("\(path): \(error.problems.count) problem\(error.problems.count == 1 ? "" : "s") found; nothing was simulated")
                throw ExitCode(1)
            }
            if let seed { scenario.seed = seed }
            let first = scenario.seed
            for round in 0..<max(1, seeds) {
                scenario.seed = first &+ UInt64(round)
                try run(scenario, firstSeed: round == 0, failed: &failed)
            }
        }
        if check, !failed.isEmpty {
            printToStandardError("balancerd fell short in: \(failed.joined(separator: ", "))")
            throw ExitCode(1)
        }
    }

    /// One scenario with one seed: its table, its verdict, and (the first seed's) plots.
    private func run(_ scenario: Scenario, firstSeed: Bool, failed: inout [String]) throws {
        let started = Date()
        let contenders = Simulator.contenders(for: scenario).filter { policies.isEmpty || policies.contains($0.name) }
        let results = Simulator(scenario).run(contenders)
        let figures = results.map(\.figures)
        let seedWords = seeds > 1 ? " (seed \(scenario.seed))" : ""
        print(markdown ? "### \(scenario.name)\(seedWords)\n\n\(scenario.summary)\n" : "== \(scenario.name)\(seedWords): \(scenario.summary)")
        if markdown, firstSeed, let plots {
            // The plot beside the table, linked from the folder above the plots' (docs/BALANCING.md's place).
            print("![\(scenario.name): each server's settled load over time, one panel per policy](\(URL(fileURLWithPath: plots).lastPathComponent)/\(scenario.name).svg)\n")
        }
        print(SimulationReport.table(scenario, figures, markdown: markdown))
        if let ours = figures.first(where: { $0.contender == "balancerd" }), figures.count > 1 {
            let verdict = SimulationVerdict(scenario, ours: ours, others: figures)
            let absorbable = verdict.absorbable ? "" : " (the cluster cannot absorb these logins: even the oracle passes max_load)"
            let words = verdict.held ? "balancerd held\(absorbable)" : "balancerd fell short\(absorbable): \(verdict.shortfalls.joined(separator: "; "))"
            print(markdown ? "\n\(words)." : words)
            if !verdict.held { failed.append(scenario.name + seedWords) }
        }
        print("")
        let seconds = Date().timeIntervalSince(started)
        printToStandardError("\(scenario.name)\(seedWords): \(figures.first?.logins ?? 0) logins, \(Int(scenario.duration)) s of virtual time, \(contenders.count) policies in \(String(format: "%.1f", seconds)) s")
        guard firstSeed else { return }
        if let svg { try write(LoadPlot.svg(scenario, results), to: svg) }
        if let plots { try write(LoadPlot.svg(scenario, results), to: "\(plots)/\(scenario.name).svg") }
    }

    private func write(_ text: String, to path: String) throws {
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

import Balancer
import BalancerdCore
import Foundation
import Simulation
import Testing
import TestSupport

@Suite("scenario files for balancerd simulate")
struct ScenarioLoaderTests {
    static let scenarios = repositoryRoot + "/examples/scenarios"

    @Test("every scenario kept in the repository loads, with the policy its balancer: section sets")
    func examples() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.scenarios).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 11)
        for file in files {
            let scenario = try ScenarioLoader().load(path: "\(Self.scenarios)/\(file)")
            #expect(scenario.name + ".yaml" == file)
            #expect(!scenario.summary.isEmpty)
            #expect(!scenario.arrivals.isEmpty)
            #expect(scenario.policy.spares.count + scenario.policy.backups.count == scenario.servers.count)
        }
        let storm = try ScenarioLoader().load(path: "\(Self.scenarios)/storm-one-idle.yaml")
        #expect(storm.servers.map(\.id) == (1...9).map { "busy\($0)" } + ["idle"])
        #expect(storm.policy.mode == .always && storm.policy.loginCost == 1 && !storm.policy.learnsLoginCost)
        #expect(storm.arrivals == [Arrival(.storm(count: 360, at: 10, over: 120))])
        #expect(storm.variants.map(\.name) == ["issue-settings", "ledger-until-next-sample", "learned-cost"])
        #expect(storm.variants[1].policy.loadTimeConstant == 0 && storm.variants[2].policy.learnsLoginCost)
        let reboot = try ScenarioLoader().load(path: "\(Self.scenarios)/reboot-mid-storm.yaml")
        #expect(reboot.events == [ScenarioEvent(at: 70, .reboot(server: "spare3", down: 40))])
    }

    @Test("every problem at once, each with its file, line and key")
    func problems() {
        let text = """
            name: broken
            duration: 10x
            balancer:
              mode: always
              login_cost: lots
              spares: [a]
            servers:
              big:
                count: 2
                lod: 50
            arrivals:
              class:
                storm: 10
                poisson: 2
            events:
              gone:
                at: 5s
                reboot: nobody
            variants:
              quick:
                slow_strat: 1s

            """
        do {
            _ = try ScenarioLoader().load(text: text, path: "broken.yaml")
            Issue.record("a broken scenario loaded")
        } catch {
            let lines = error.problems.map(\.description)
            #expect(lines.contains("broken.yaml:2: duration: '10x' is not a duration (a number with ms, s, m or h, e.g. 5s)"), "\(lines)")
            #expect(lines.contains("broken.yaml:5: balancer.login_cost: 'lots' is not a number from 0 to 100"), "\(lines)")
            #expect(lines.contains { $0.hasPrefix("broken.yaml:6: balancer.spares: a scenario's spares and backups are its servers") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("broken.yaml:10: servers.big.lod: unknown key") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("broken.yaml:8: servers.big.load: missing") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("broken.yaml:12: arrivals.class: needs exactly one of storm") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("broken.yaml:18: events.gone.reboot: 'nobody' is not one of the scenario's servers") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("broken.yaml:21: variants.quick.slow_strat: not a balancer key") }, "\(lines)")
        }
    }

    /// One run does three things: the bar (--check), and docs/BALANCING.md's
    /// tables and plots are what the simulator gives now (they cannot drift).
    @Test("balancerd simulate --check holds on every scenario kept in the repository; docs/BALANCING.md shows its figures; it says why when it does not hold")
    func checkHolds() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.scenarios).filter { $0.hasSuffix(".yaml") }.sorted()
        let plots = FileManager.default.temporaryDirectory.appendingPathComponent("balancing-\(getpid())").appendingPathComponent("balancing").path
        try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: plots).deletingLastPathComponent().path) }
        let arguments = ["simulate", "--check", "--markdown", "--plots", plots] + files.map { "\(Self.scenarios)/\($0)" }
        // Its standard output only; it runs for seconds, so the wait has a thread of its own.
        let (status, tables) = try await blocking { () throws -> (Int32, String) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ProcessCluster.binary)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let tables = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, tables)
        }
        #expect(status == 0, "\(tables)")
        #expect(tables.components(separatedBy: "\nbalancerd held").count - 1 == files.count, "\(tables)")
        // And it holds with three other seeds (other arrivals, poll phases, noise): not a lucky draw.
        let others = try await run(ProcessCluster.binary, ["simulate", "--check", "--seed", "2", "--seeds", "3"] + files.map { "\(Self.scenarios)/\($0)" })
        #expect(others.status == 0, "\(others.output)")
        #expect(others.output.components(separatedBy: "\nbalancerd held").count - 1 == 3 * files.count, "\(others.output)")
        let document = try String(contentsOfFile: repositoryRoot + "/docs/BALANCING.md", encoding: .utf8)
        let region = document.components(separatedBy: "<!-- balancerd simulate: begin -->\n").dropFirst().first?
            .components(separatedBy: "<!-- balancerd simulate: end -->").first
        #expect(region == tables, "docs/BALANCING.md's figures are not the simulator's: run the command above them again")
        for file in files {
            let name = file.replacingOccurrences(of: ".yaml", with: ".svg")
            let made = try String(contentsOfFile: "\(plots)/\(name)", encoding: .utf8)
            let kept = try? String(contentsOfFile: repositoryRoot + "/docs/balancing/\(name)", encoding: .utf8)
            #expect(made == kept, "docs/balancing/\(name) is not the simulator's plot")
        }
        // The policy as it was: a redirect counted only until the spare's next sample. It falls short, and says so.
        let old = try await run(
            ProcessCluster.binary, ["simulate", "--check", "--policy", "balancerd", "--policy", "haproxy-agent", "--policy", "oracle", "\(Self.scenarios)/storm-one-idle.yaml"],
            environment: [:])
        #expect(old.status == 0)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simulate-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let scenario = try String(contentsOfFile: "\(Self.scenarios)/storm-one-idle.yaml", encoding: .utf8)
        let oldPolicy = scenario.replacingOccurrences(of: "  login_cost: 1 ", with: "  load_time_constant: 0s\n  learn_login_cost: false\n  login_cost: 1 ")
        try oldPolicy.write(toFile: "\(directory)/old.yaml", atomically: true, encoding: .utf8)
        let fell = try await run(ProcessCluster.binary, ["simulate", "--check", "--svg", "\(directory)/old.svg", "\(directory)/old.yaml"])
        #expect(fell.status == 1, "\(fell.output)")
        #expect(fell.output.contains("balancerd fell short: peak 150.0 % passes max_load 100.0 % (idle)"), "\(fell.output)")
        let svg = try String(contentsOfFile: "\(directory)/old.svg", encoding: .utf8)
        #expect(svg.contains("balancerd: peak 150.0 %"))
    }
}

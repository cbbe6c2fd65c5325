import Balancer
import Foundation
import Health
import Simulation

/// Reads a scenario for `balancerd simulate` (docs/BALANCING.md, "Scenario
/// files"). Its `poll:` and `balancer:` sections are balancerd.yaml's own,
/// read through the same schema (`ConfigSchema`), so a scenario runs the policy exactly as a config
/// would set it. Every problem is reported at once, with its file and line.
public struct ScenarioLoader {
    public init() {}

    public func load(path: String) throws(ConfigError) -> Scenario {
        try load(text: try ConfigLoader.text(of: path, what: "the scenario"), path: path)
    }

    public func load(text: String, path: String) throws(ConfigError) -> Scenario {
        let source: ConfigSource
        do {
            source = try ConfigSource(text: text, file: path, environment: [:])
        } catch {
            throw ConfigError(problems: [error])
        }
        var reader = ConfigFieldReader(source: source)
        var config = DaemonConfig(file: path)
        ConfigSchema.read(into: &config, with: &reader, context: .asWritten, sections: ["poll", "balancer"])
        let (poll, settings) = (config.poll, config.balancer)
        for key in ["balancer.spares", "balancer.backups"] where source.lines[key] != nil {
            reader.problem(key, "a scenario's spares and backups are its servers (servers: …, backup: true)")
        }
        let fileName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let name = reader.string("name", default: fileName)
        let summary = reader.string("summary", default: "")
        let seed = reader.integer("seed", default: 1, in: 0...Int.max)
        var duration = 0.0
        if reader.optionalString("duration") == nil {
            reader.problem("duration", "missing: how much virtual time to simulate (e.g. 10m)")
        } else {
            duration = reader.duration("duration", default: .seconds(600)).secondsValue
        }
        let spreadAt = reader.optionalString("measure_spread_at").map { _ in reader.duration("measure_spread_at", default: .zero, allowZero: true).secondsValue }
        let model = PollModel(
            interval: poll.interval.secondsValue, jitter: reader.number("network.jitter", default: 0.5, in: 0...1),
            timeout: poll.timeout.secondsValue, staleAfter: poll.staleAfter.secondsValue,
            latency: reader.duration("network.latency", default: .milliseconds(2)).secondsValue,
            connect: reader.duration("network.connect", default: .milliseconds(50)).secondsValue)
        let kernel = KernelModel(
            updatePeriod: reader.duration("kernel.update_period", default: .seconds(5)).secondsValue,
            timeConstant: reader.duration("kernel.time_constant", default: .seconds(60)).secondsValue)
        let session = readSession(&reader)
        var servers = readServers(&reader)
        let balancers = readBalancers(&reader, mode: settings.mode)
        let arrivals = readArrivals(&reader, balancers: balancers.count)
        let events = readEvents(&reader, servers: Set(servers.map(\.id)), balancers: balancers.count)
        if servers.isEmpty {
            reader.problem("servers", "missing: at least one spare (servers: {name: {load: 50}})")
            servers = [ServerSpec(id: "none", load: 0)]
        }
        let variants = readVariants(&reader, text: text, path: path, staleAfter: poll.staleAfter)
        var problems = source.unknownKeyProblems(known: reader.readKeys) + reader.problems + variants.problems
        let ids = servers.map(\.id)
        if let duplicate = ids.first(where: { id in ids.filter { $0 == id }.count > 1 }) {
            problems.append(source.problem("servers", "the server id '\(duplicate)' comes twice (a group of count N names its servers <name>1…<name>N)"))
        }
        guard problems.isEmpty else { throw ConfigError(problems: problems) }
        let policy = settings.policy(ownDomain: "", staleAfter: poll.staleAfter)
        var scenario = Scenario(
            name: name, summary: summary, seed: UInt64(seed), duration: duration, measureSpreadAt: spreadAt, poll: model, policy: policy,
            servers: servers, balancers: balancers, session: session, arrivals: arrivals, events: events, kernel: kernel)
        scenario.variants = variants.policies
        return scenario
    }

    /// `variants: {name: {slow_start: 60s, …}}`: the `balancer:` section
    /// again with these keys changed, read by the same code (as environment
    /// overrides, `BALANCERD_BALANCER_…`, over the file).
    private func readVariants(
        _ reader: inout ConfigFieldReader, text: String, path: String, staleAfter: Duration
    ) -> (policies: [(name: String, policy: BalancerPolicy)], problems: [ConfigProblem]) {
        var policies: [(name: String, policy: BalancerPolicy)] = []
        var problems: [ConfigProblem] = []
        for name in reader.source.children(of: "variants") {
            reader.noteKnown("variants.\(name)")
            var environment: [String: String] = [:]
            var keys: [String] = []
            for key in reader.source.children(of: "variants.\(name)") {
                let path = "variants.\(name).\(key)"
                guard let value = reader.optionalString(path) else { continue }
                environment[ConfigSource.environmentName(of: "balancer.\(key)")] = value
                keys.append(key)
            }
            do {
                let variantSource = try ConfigSource(text: text, file: path, environment: environment)
                var variantReader = ConfigFieldReader(source: variantSource)
                var config = DaemonConfig(file: path)
                ConfigSchema.read(into: &config, with: &variantReader, context: .asWritten, sections: ["balancer"])
                for key in keys where !variantReader.readKeys.contains("balancer.\(key)") {
                    problems.append(reader.source.problem("variants.\(name).\(key)", "not a balancer key (a variant changes keys of the balancer: section)"))
                }
                problems += variantReader.problems
                policies.append((name, config.balancer.policy(ownDomain: "", staleAfter: staleAfter)))
            } catch {
                problems.append(error)
            }
        }
        return (policies, problems)
    }

    private func readSession(_ reader: inout ConfigFieldReader) -> SessionModel {
        var session = SessionModel()
        session.work = reader.number("session.work", default: session.work, in: 0...1_000)
        session.length = reader.duration("session.length", default: .seconds(Int64(session.length))).secondsValue
        let lengths = reader.string("session.lengths", default: "fixed")
        switch lengths {
        case "fixed": session.exponential = false
        case "exponential": session.exponential = true
        default: reader.problem("session.lengths", "'\(lengths)' is not fixed or exponential")
        }
        session.counted = reader.bool("session.counted", default: session.counted)
        session.activeWindow = reader.duration("session.active_window", default: .seconds(Int64(session.activeWindow)), allowZero: true).secondsValue
        return session
    }

    private func readServer(_ reader: inout ConfigFieldReader, _ prefix: String, id: String) -> ServerSpec {
        if reader.optionalString("\(prefix).load") == nil { reader.problem("\(prefix).load", "missing: the server's load at the start, in percent") }
        return ServerSpec(
            id: id, backup: reader.bool("\(prefix).backup", default: false),
            loadLimit: reader.number("\(prefix).load_limit", default: 2, in: 0.01...100_000),
            userLoadLimit: reader.number("\(prefix).user_load_limit", default: 500, in: 1...10_000_000),
            load: reader.number("\(prefix).load", default: 0, in: 0...10_000),
            sessions: reader.integer("\(prefix).sessions", default: 0, in: 0...10_000_000),
            noise: reader.number("\(prefix).noise", default: 0, in: 0...1_000))
    }

    private func readServers(_ reader: inout ConfigFieldReader) -> [ServerSpec] {
        var servers: [ServerSpec] = []
        for group in reader.source.children(of: "servers") {
            reader.noteKnown("servers.\(group)")
            let count = reader.integer("servers.\(group).count", default: 1, in: 1...100_000)
            let template = readServer(&reader, "servers.\(group)", id: group)
            for index in 1...count {
                var server = template
                server.id = count == 1 ? group : "\(group)\(index)"
                servers.append(server)
            }
        }
        return servers
    }

    private func readBalancers(_ reader: inout ConfigFieldReader, mode: BalancerMode) -> BalancerGroup {
        var group = BalancerGroup(count: reader.integer("balancers.count", default: 1, in: 1...1_000))
        if !reader.source.children(of: "balancers.own").isEmpty {
            reader.noteKnown("balancers.own")
            group.own = readServer(&reader, "balancers.own", id: "self")
        }
        if mode == .overflow, group.own == nil {
            reader.problem("balancer.mode", "overflow keeps logins on the balancer's own server: describe it in balancers.own (load, load_limit, …)")
        }
        return group
    }

    private func readArrivals(_ reader: inout ConfigFieldReader, balancers: Int) -> [Arrival] {
        var arrivals: [Arrival] = []
        for name in reader.source.children(of: "arrivals") {
            let key = "arrivals.\(name)"
            reader.noteKnown(key)
            let kinds = ["storm", "poisson", "steady", "step"].filter { reader.source.lines["\(key).\($0)"] != nil }
            guard kinds.count == 1, let kind = kinds.first else {
                reader.problem(key, "needs exactly one of storm (a count), poisson or steady (a rate a second), step (a rate before and after)")
                continue
            }
            let balancer = reader.optionalString("\(key).balancer").map { _ in reader.integer("\(key).balancer", default: 1, in: 1...balancers) - 1 }
            let from = reader.duration("\(key).from", default: .zero, allowZero: true).secondsValue
            let to = reader.duration("\(key).to", default: .seconds(1_000_000_000), allowZero: true).secondsValue
            let pattern: Arrival.Pattern
            switch kind {
            case "storm":
                pattern = .storm(
                    count: reader.integer("\(key).storm", default: 0, in: 0...10_000_000),
                    at: reader.duration("\(key).at", default: .zero, allowZero: true).secondsValue,
                    over: reader.duration("\(key).over", default: .zero, allowZero: true).secondsValue)
            case "poisson":
                pattern = .poisson(rate: reader.number("\(key).poisson", default: 0, in: 0...1_000_000), from: from, to: to)
            case "steady":
                pattern = .steady(rate: reader.number("\(key).steady", default: 0, in: 0...1_000_000), from: from, to: to)
            default:
                reader.noteKnown("\(key).step")
                pattern = .step(
                    at: reader.duration("\(key).at", default: .zero, allowZero: true).secondsValue,
                    before: reader.number("\(key).before", default: 0, in: 0...1_000_000),
                    after: reader.number("\(key).after", default: 0, in: 0...1_000_000), to: to)
            }
            arrivals.append(Arrival(pattern, balancer: balancer))
        }
        if arrivals.isEmpty { reader.problem("arrivals", "missing: when logins come (arrivals: {storm: {storm: 360, at: 10s, over: 2m}})") }
        return arrivals
    }

    private func readEvents(_ reader: inout ConfigFieldReader, servers: Set<String>, balancers: Int) -> [ScenarioEvent] {
        var events: [ScenarioEvent] = []
        let serverKinds = ["reboot", "stop_answering", "link_down", "drain", "load_step"]
        for name in reader.source.children(of: "events") {
            let key = "events.\(name)"
            reader.noteKnown(key)
            let kinds = (serverKinds + ["restart"]).filter { reader.source.lines["\(key).\($0)"] != nil }
            guard kinds.count == 1, let kind = kinds.first else {
                reader.problem(key, "needs exactly one of \((serverKinds + ["restart"]).joined(separator: ", "))")
                continue
            }
            let at = reader.duration("\(key).at", default: .zero, allowZero: true).secondsValue
            if kind == "restart" {
                let balancer = reader.integer("\(key).restart", default: 1, in: 1...balancers) - 1
                events.append(ScenarioEvent(at: at, .restart(balancer: balancer)))
                continue
            }
            let server = reader.string("\(key).\(kind)", default: "")
            if !servers.contains(server) {
                reader.problem("\(key).\(kind)", "'\(server)' is not one of the scenario's servers (\(servers.sorted().prefix(6).joined(separator: ", "))…)")
            }
            let length = reader.duration("\(key).for", default: .seconds(30)).secondsValue
            switch kind {
            case "reboot": events.append(ScenarioEvent(at: at, .reboot(server: server, down: length)))
            case "stop_answering": events.append(ScenarioEvent(at: at, .stopAnswering(server: server, duration: length)))
            case "link_down": events.append(ScenarioEvent(at: at, .linkDown(server: server, duration: length)))
            case "drain": events.append(ScenarioEvent(at: at, .drain(server: server, duration: length)))
            default: events.append(ScenarioEvent(at: at, .loadStep(server: server, load: reader.number("\(key).load", default: 0, in: 0...10_000))))
            }
        }
        return events
    }
}

extension ConfigSource {
    /// The names of the mappings under `prefix` in the file, in file order.
    func children(of prefix: String) -> [String] {
        var seen: [String: Int] = [:]
        for (key, line) in lines where key.hasPrefix(prefix + ".") {
            let name = String(key.dropFirst(prefix.count + 1).prefix { $0 != "." })
            seen[name] = min(seen[name] ?? .max, line)
        }
        return seen.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map(\.key)
    }
}

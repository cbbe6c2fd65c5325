/// What a reload changes, key by key, by each key's `ReloadClass` in
/// `ConfigSchema`: the keys that take effect at once, those that need a
/// restart (named in the log and in `ctl reload`'s answer, never kept
/// silently), and those the command does not read. Pure: two configs in, the
/// lists and the config to run out.
public struct ReloadPlan: Sendable, Equatable {
    /// The daemon reloading: `serve` or `agent`.
    public enum Command: String, Sendable {
        case serve, agent
    }

    public let command: Command
    /// Changed keys the running daemon applies now.
    public var applied: [String]
    /// Changed keys that keep their running value until the next restart.
    public var needRestart: [String]
    /// Changed keys this command does not read.
    public var unused: [String]

    /// The plan for `serve`.
    public static func serve(from old: DaemonConfig, to new: DaemonConfig) -> ReloadPlan { ReloadPlan(.serve, from: old, to: new) }

    /// The plan for `agent`.
    public static func agent(from old: DaemonConfig, to new: DaemonConfig) -> ReloadPlan { ReloadPlan(.agent, from: old, to: new) }

    public init(_ command: Command, from old: DaemonConfig, to new: DaemonConfig) {
        self.command = command
        let changed = ConfigSchema.keys.filter { !$0.same(old, new) }
        applied = changed.filter { $0.reloadClass(command) == .applied }.map(\.name)
        needRestart = changed.filter { $0.reloadClass(command) == .restart }.map(\.name)
        unused = changed.filter { $0.reloadClass(command) == .unused }.map(\.name)
    }

    /// Every key of balancerd.yaml, in the reference's order.
    public static var allKeys: [String] { ConfigSchema.keys.map(\.name) }

    /// The keys `command` applies on reload.
    public static func appliedKeys(_ command: Command) -> [String] {
        ConfigSchema.keys.filter { $0.reloadClass(command) == .applied }.map(\.name)
    }

    /// The config to run: `new`, with the running value of every key that needs a restart.
    public static func running(_ command: Command, _ new: DaemonConfig, keepingFrom old: DaemonConfig) -> DaemonConfig {
        var config = new
        for key in ConfigSchema.keys where key.reloadClass(command) == .restart { key.keep(&config, old) }
        return config
    }

    /// `applied poll.interval, balancer.max_load` or `no key changed`.
    public var appliedNote: String { applied.isEmpty ? "no key changed" : "applied \(applied.joined(separator: ", "))" }

    /// `; restart needed for links.port, http.listen (still running the old values)`, and the
    /// keys the command does not read (empty when there are none).
    public var restartNote: String {
        (needRestart.isEmpty ? "" : "; restart needed for \(needRestart.joined(separator: ", ")) (still running the old values)")
            + (unused.isEmpty ? "" : "; not used by balancerd \(command.rawValue): \(unused.joined(separator: ", "))")
    }
}

extension ConfigSchema.Key {
    func reloadClass(_ command: ReloadPlan.Command) -> ReloadClass {
        switch command {
        case .serve: serve
        case .agent: agent
        }
    }
}

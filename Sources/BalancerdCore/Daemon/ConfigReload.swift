import Logging

/// What the reloads of `serve` (`DaemonControl`) and `agent` (`AgentReloader`)
/// share: the file read again and a bad one refused, the plan, and the answer.
/// Each daemon applies the plan to its own parts in between.
struct ConfigReload: Sendable {
    let command: ReloadPlan.Command
    let configPath: String
    let logger: Logger

    /// The reloaded config to run (restart keys keep their running values),
    /// its hosts table and plan; or, logged, the answer refusing it.
    func load(running old: DaemonConfig) -> Result<(loaded: ConfigLoader.Loaded, config: DaemonConfig, plan: ReloadPlan), Refusal> {
        let loaded: ConfigLoader.Loaded
        do {
            loaded = try ConfigLoader().load(path: configPath)
        } catch {
            return .failure(refuse(error.problems.filter { !$0.isWarning }.map(\.description).joined(separator: "; ")))
        }
        for warning in loaded.warnings {
            logger.warning("reload: config warning", metadata: ["problem": "\(warning)"])
        }
        let plan = ReloadPlan(command, from: old, to: loaded.config)
        return .success((loaded, ReloadPlan.running(command, loaded.config, keepingFrom: old), plan))
    }

    /// A refused reload: the answer (`error: reload refused: …`), logged.
    struct Refusal: Error {
        let answer: String
    }

    func refuse(_ reason: String) -> Refusal {
        logger.error("reload refused; still running the previous config", metadata: ["reason": "\(reason)"])
        return Refusal(answer: "error: reload refused: \(reason)")
    }

    /// The answer to an accepted reload (`ok: reloaded FILE (N hosts): applied …`), logged.
    func accepted(_ plan: ReloadPlan, hosts: Int, metadata: Logger.Metadata = [:]) -> String {
        if !plan.needRestart.isEmpty {
            logger.warning("reload: restart needed; still running their old values", metadata: ["keys": "\(plan.needRestart.joined(separator: ", "))"])
        }
        logger.info("reloaded", metadata: metadata.merging(["hosts": "\(hosts)", "applied": "\(plan.appliedNote)"]) { $1 })
        return "ok: reloaded \(configPath) (\(hosts) hosts): \(plan.appliedNote)\(plan.restartNote)"
    }
}

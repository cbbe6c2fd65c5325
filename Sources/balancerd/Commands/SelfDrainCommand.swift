import ArgumentParser
import BalancerdCore

/// `balancerd self-drain [reason…]` / `--undo`: drain this server for HAProxy
/// (`agent.haproxy_listen` answers `drain` while `<state_dir>/self-drain` exists).
struct SelfDrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "self-drain",
        abstract: "Drain this server for HAProxy's agent-check (or undo it with --undo).",
        discussion: """
            Writes <state_dir>/self-drain (the reason inside); while it exists the HAProxy \
            agent-check port (agent.haproxy_listen) answers `up drain`, so HAProxy sends this \
            server no new connections and keeps the ones it has. --undo removes it: the next \
            check answers `up ready N%` again. Run it as the user that runs balancerd.
            """)

    @OptionGroup var config: ConfigOption

    @Flag(help: "Undrain: remove <state_dir>/self-drain.")
    var undo = false

    @Argument(help: "Why (kept in the file, for whoever looks next).")
    var reason: [String] = []

    func run() throws {
        let stateDirectory: String
        do {
            stateDirectory = try ConfigLoader().loadIgnoringTLSFiles(path: config.path).config.stateDirectory
        } catch {
            for problem in error.problems { printToStandardError(problem.description) }
            throw ExitCode(1)
        }
        let drain = SelfDrain(stateDirectory: stateDirectory)
        do {
            if undo {
                print(try drain.undrain() ? "ok: undrained; HAProxy's next agent check gets a weight" : "ok: was not drained")
            } else {
                try drain.drain(reason: reason.joined(separator: " "))
                print("ok: drained (\(drain.path)); HAProxy's next agent check gets `drain`")
            }
        } catch {
            printToStandardError(error.description)
            throw ExitCode(1)
        }
    }
}

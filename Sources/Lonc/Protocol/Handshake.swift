/// The words of the handshake and the commands (DESIGN.md, "Wire protocol").
public enum WireProtocol {
    /// The version this build announces.
    public static let version = LoncVersion.string

    /// The client's first line; the agent answers a challenge.
    public static let initCommand = "init"
    /// The agent's answer to a correct challenge echo, and to a good `sethost`.
    public static let ok = "ok"
    /// `sethost:<id>`: the client names the agent it believes it reached.
    public static let sethostPrefix = "sethost:"
    /// `version:<v>` both ways.
    public static let versionPrefix = "version:"
    /// The agent's answer to `sethost` with another id.
    public static let wrongHost = "error:wrong_host"
    /// The agent's answer to an over-long line, before it closes.
    public static let lineTooLong = "error:line_too_long"
    /// Liveness; the agent answers its id.
    public static let ping = "ping"
    /// Load commands.
    public static let load = "load"
    /// Active sessions over their limit, in percent.
    public static let userload = "userload"
    /// The three load averages.
    public static let loadavg = "loadavg"
    /// Ends the session: the agent answers `bye` and closes.
    public static let exit = "exit"
    /// The answer to `exit`.
    public static let bye = "bye"

    /// 32 random hex characters.
    public static func makeChallenge() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<32).map { _ in digits[Int(generator.next() % 16)] })
    }
}

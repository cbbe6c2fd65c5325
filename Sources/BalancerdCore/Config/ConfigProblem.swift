/// One thing wrong with a config, located so an operator can go straight to it:
///
///     balancerd.yaml:14: links.connect_timeout: '5x' is not a duration (a number with ms, s, m or h, e.g. 5s)
///     BALANCERD_HTTP_THREADS: http.threads: 'two' is not a whole number
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// `file:line`, `file`, or the environment variable the value came from.
    public var location: String
    /// The dotted key path, when the problem is about one key.
    public var key: String?
    public var message: String
    /// Warnings are printed but do not fail `check`.
    public var isWarning = false

    public var description: String {
        let prefix = isWarning ? "warning: " : ""
        if let key { return "\(location): \(prefix)\(key): \(message)" }
        return "\(location): \(prefix)\(message)"
    }
}

/// A config that cannot be used, with every problem found.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

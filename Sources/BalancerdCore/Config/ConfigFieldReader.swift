/// Reads typed settings from a `ConfigSource`, collecting a located problem for
/// each bad value instead of stopping at the first, and remembering which keys
/// were read so unread (unknown) keys can be reported.
struct ConfigFieldReader {
    let source: ConfigSource
    private(set) var problems: [ConfigProblem] = []
    private(set) var readKeys: Set<String> = []

    init(source: ConfigSource) { self.source = source }

    /// Marks `key` as known without reading a value (a mapping of named groups, e.g. a scenario's `servers.busy`).
    mutating func noteKnown(_ key: String) { readKeys.insert(key) }

    mutating func problem(_ key: String, _ message: String) {
        problems.append(source.problem(key, message))
    }

    /// The text of a key, or nil when absent or empty.
    mutating func optionalString(_ key: String) -> String? {
        readKeys.insert(key)
        switch source.string(key) {
        case .absent: return nil
        case .found(let value): return value.isEmpty ? nil : value
        case .wrongShape:
            problem(key, "expected a single value, not a list or mapping")
            return nil
        }
    }

    mutating func string(_ key: String, default defaultValue: String) -> String {
        optionalString(key) ?? defaultValue
    }

    mutating func duration(_ key: String, default defaultValue: Duration, allowZero: Bool = false) -> Duration {
        typed(key, default: defaultValue, expected: "a duration (a number with ms, s, m or h, e.g. 5s)") { text in
            guard let value = ConfigValueParsing.duration(text) else { return nil }
            return value > .zero || (allowZero && value == .zero) ? value : nil
        }
    }

    mutating func integer(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>) -> Int {
        typed(key, default: defaultValue, expected: "a whole number from \(range.lowerBound) to \(range.upperBound)") { text in
            ConfigValueParsing.integer(text).flatMap { range.contains($0) ? $0 : nil }
        }
    }

    mutating func number(_ key: String, default defaultValue: Double, in range: ClosedRange<Double>) -> Double {
        typed(key, default: defaultValue, expected: "a number from \(range.lowerBound.configText) to \(range.upperBound.configText)") { text in
            ConfigValueParsing.number(text).flatMap { range.contains($0) ? $0 : nil }
        }
    }

    mutating func bool(_ key: String, default defaultValue: Bool) -> Bool {
        typed(key, default: defaultValue, expected: "true or false", parse: ConfigValueParsing.boolean)
    }

    mutating func list(_ key: String, default defaultValue: [String]) -> [String] {
        readKeys.insert(key)
        switch source.stringList(key) {
        case .absent: return defaultValue
        case .found(let values): return values.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case .wrongShape:
            // A single scalar where a list belongs: accept `spares: msua2` as a one-item list.
            if case .found(let single) = source.string(key) {
                return single.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            problem(key, "expected a list, e.g. [a, b]")
            return defaultValue
        }
    }

    private mutating func typed<Value>(_ key: String, default defaultValue: Value, expected: String, parse: (String) -> Value?) -> Value {
        guard let text = optionalString(key) else { return defaultValue }
        guard let value = parse(text) else {
            problem(key, "'\(text)' is not \(expected)")
            return defaultValue
        }
        return value
    }
}

import Configuration
import Foundation
import Yams

/// Where config values come from: the environment (`BALANCERD_…`) over the YAML
/// file, both through swift-configuration providers, plus the file's line
/// numbers so every problem can point at its line.
struct ConfigSource {
    static let environmentPrefix = "BALANCERD"

    let file: String
    private let fileValues: YAMLSnapshot
    private let environmentValues: any ConfigSnapshot
    private let environment: [String: String]
    /// Dotted key path → 1-based line, for every leaf in the file.
    private(set) var lines: [String: Int] = [:]

    /// Parses the YAML; a syntax error is a problem with the line Yams reports.
    init(text: String, file: String, environment: [String: String]) throws(ConfigProblem) {
        self.file = file
        self.environment = environment
        self.environmentValues = EnvironmentVariablesProvider(environmentVariables: environment)
            .prefixKeys(with: ConfigKey(Self.environmentPrefix.lowercased())).snapshot()
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigProblem(location: file, message: "not valid YAML: \(Self.describe(error))")
        } catch {
            throw ConfigProblem(location: file, message: "not valid YAML: \(error)")
        }
        // An empty file is an empty mapping: every key takes its default.
        let yamlText = root == nil ? "{}" : text
        if let root, root.mapping == nil {
            throw ConfigProblem(location: "\(file):\(root.mark?.line ?? 1)", message: "the top level must be a mapping of keys (host_id: …, links: …)")
        }
        do {
            fileValues = try yamlText.utf8CString.withUnsafeBufferPointer { buffer throws in
                let bytes = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer.dropLast()))
                return try YAMLSnapshot(data: RawSpan(_unsafeBytes: bytes), providerName: file, parsingOptions: .default)
            }
        } catch {
            throw ConfigProblem(location: file, message: "cannot read the YAML: \(error)")
        }
        if let mapping = root?.mapping { collectLines(mapping, prefix: "") }
    }

    private mutating func collectLines(_ mapping: Node.Mapping, prefix: String) {
        for (key, value) in mapping {
            let name = prefix + (key.string ?? "?")
            if let nested = value.mapping {
                lines[name] = key.mark?.line
                collectLines(nested, prefix: name + ".")
            } else {
                lines[name] = key.mark?.line ?? value.mark?.line
            }
        }
    }

    /// The environment variable that overrides `key`: `http.listen` → `BALANCERD_HTTP_LISTEN`.
    static func environmentName(of key: String) -> String {
        environmentPrefix + "_" + key.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }

    /// Where a key's value comes from, for messages.
    func location(of key: String) -> String {
        let variable = Self.environmentName(of: key)
        if environment[variable] != nil { return variable }
        if let line = lines[key] { return "\(file):\(line)" }
        // A key that is missing: the line of the mapping it belongs in, if that is there.
        var parent = key
        while let dot = parent.lastIndex(of: ".") {
            parent = String(parent[..<dot])
            if let line = lines[parent] { return "\(file):\(line)" }
        }
        return file
    }

    func problem(_ key: String, _ message: String) -> ConfigProblem {
        ConfigProblem(location: location(of: key), key: key, message: message)
    }

    /// A problem that does not stop the config (printed by `check`, logged by a reload).
    func warning(_ key: String, _ message: String) -> ConfigProblem {
        var warning = problem(key, message)
        warning.isWarning = true
        return warning
    }

    enum Lookup<Value> {
        case absent
        case found(Value)
        /// The value is there but of the wrong shape (a list where text belongs, …).
        case wrongShape
    }

    func string(_ key: String) -> Lookup<String> { lookup(key, type: .string) { $0.asString } }

    func stringList(_ key: String) -> Lookup<[String]> { lookup(key, type: .stringArray) { $0.asStringArray } }

    private func lookup<Value>(_ key: String, type: ConfigType, extract: (ConfigContent) -> Value?) -> Lookup<Value> {
        let absolute = AbsoluteConfigKey(ConfigKey(key))
        for provider in [environmentValues, fileValues as any ConfigSnapshot] {
            do {
                guard let value = try provider.value(forKey: absolute, type: type).value else { continue }
                guard let extracted = extract(value.content) else { return .wrongShape }
                return .found(extracted)
            } catch {
                return .wrongShape
            }
        }
        return .absent
    }

    /// Keys in the file, and `BALANCERD_` variables, that no setting reads.
    func unknownKeyProblems(known: Set<String>) -> [ConfigProblem] {
        let sections = Set(known.compactMap { $0.split(separator: ".").count > 1 ? String($0.split(separator: ".")[0]) : nil })
        var problems: [ConfigProblem] = []
        for (key, line) in lines.sorted(by: { $0.value < $1.value }) where !known.contains(key) && !sections.contains(key) {
            var message = "unknown key"
            if let suggestion = ConfigValueParsing.closest(to: key, among: Array(known)) { message += " (did you mean '\(suggestion)'?)" }
            problems.append(ConfigProblem(location: "\(file):\(line)", key: key, message: message))
        }
        let knownVariables = Dictionary(known.map { (Self.environmentName(of: $0), $0) }, uniquingKeysWith: { a, _ in a })
        for variable in environment.keys.sorted() where variable.hasPrefix(Self.environmentPrefix + "_") && knownVariables[variable] == nil {
            var problem = ConfigProblem(location: variable, message: "environment variable names no setting; it is ignored")
            problem.isWarning = true
            if let suggestion = ConfigValueParsing.closest(to: variable, among: Array(knownVariables.keys)) {
                problem.message += " (did you mean \(suggestion)?)"
            }
            problems.append(problem)
        }
        return problems
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)\(context.map { " \($0.text)" } ?? "")"
        default:
            return "\(error)"
        }
    }
}

private extension ConfigContent {
    var asString: String? {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .bool(let value): String(value)
        default: nil
        }
    }

    var asStringArray: [String]? {
        if case .stringArray(let values) = self { return values }
        return nil
    }
}

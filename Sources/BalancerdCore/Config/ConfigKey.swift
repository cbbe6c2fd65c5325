import Lonc

/// What a running daemon does with a key whose value changed when it reloads
/// (SIGHUP, `ctl reload`): the answer and the log name each changed key with its class.
public enum ReloadClass: String, Sendable, CaseIterable {
    /// In effect at once, in every part that uses it.
    case applied
    /// Keeps its running value until the next restart.
    case restart
    /// Not read by this command at all (`balancerd agent` has no HTTP endpoint).
    case unused
}

extension ConfigSchema {
    /// One key of balancerd.yaml, declared once in `ConfigSchema.keys`: its name,
    /// where its value lives in `DaemonConfig`, its type and bounds, what `serve`
    /// and `agent` do with a change on reload, and one line of documentation.
    ///
    /// The default is the settings type's own (`LinkSettings()`, `PollSettings()`,
    /// …, which the libraries use too): the key reads its value with that as the
    /// fallback, and `defaultText` shows it as docs/REFERENCE.md does.
    package struct Key: Sendable {
        /// The dotted key path, `links.connect_timeout`.
        package let name: String
        package let serve: ReloadClass
        package let agent: ReloadClass
        /// One line for the reader; docs/REFERENCE.md's meaning for the key starts with it.
        package let doc: String
        /// The default as the reference's keys table writes it (a value in backticks, or words).
        package let defaultText: String
        /// Reads the key into `config`, recording a located problem for a bad value.
        let read: @Sendable (inout ConfigFieldReader, inout DaemonConfig, ConfigReadContext) -> Void
        /// Whether two configs agree on this key (what a reload compares).
        let same: @Sendable (DaemonConfig, DaemonConfig) -> Bool
        /// Puts `old`'s value back into a reloaded config (a key that needs a restart).
        let keep: @Sendable (_ new: inout DaemonConfig, _ old: DaemonConfig) -> Void

        /// The section the key belongs to (`links`), or "" for a top-level key.
        package var section: String { name.split(separator: ".").count > 1 ? String(name.split(separator: ".")[0]) : "" }

        /// The environment variable that overrides it, `BALANCERD_LINKS_CONNECT_TIMEOUT`.
        package var environmentName: String { ConfigSource.environmentName(of: name) }

        /// `fallback`: the value when the key is absent, where that is not the settings
        /// type's default (`http.status_hosts`: none, filled in from the hosts table).
        /// `shown`: the reference's default cell, where that is words rather than the value.
        init<Value: Equatable & Sendable>(
            _ name: String, _ path: any WritableKeyPath<DaemonConfig, Value> & Sendable, _ type: ConfigValueType<Value>,
            serve: ReloadClass, agent: ReloadClass, fallback: Value? = nil, shown: String? = nil, _ doc: String
        ) {
            self.name = name
            self.serve = serve
            self.agent = agent
            self.doc = doc
            self.defaultText = shown ?? "`\(type.text(DaemonConfig(file: "")[keyPath: path]))`"
            read = { reader, config, context in
                config[keyPath: path] = type.read(&reader, name, fallback ?? config[keyPath: path], context)
            }
            same = { $0[keyPath: path] == $1[keyPath: path] }
            keep = { new, old in new[keyPath: path] = old[keyPath: path] }
        }
    }
}

/// What reading a key may need beyond its text: relative paths are resolved
/// against the config file's folder.
struct ConfigReadContext: Sendable {
    let resolve: @Sendable (String) -> String

    /// Paths taken as written (a scenario names none).
    static let asWritten = ConfigReadContext(resolve: { $0 })
}

/// How one kind of value is read and written: its type and bounds. Each
/// returns the fallback, with a problem recorded, for text it does not accept.
struct ConfigValueType<Value: Sendable & Equatable>: Sendable {
    let read: @Sendable (inout ConfigFieldReader, _ key: String, _ fallback: Value, ConfigReadContext) -> Value
    /// The value as balancerd.yaml writes it.
    let text: @Sendable (Value) -> String
}

extension ConfigValueType where Value == Duration {
    /// `500ms`, `5s`, `30m`, `1h`; more than zero, or zero too with `zero`.
    static func duration(zero: Bool = false) -> Self {
        Self(read: { reader, key, fallback, _ in reader.duration(key, default: fallback, allowZero: zero) }, text: \.configText)
    }
}

extension ConfigValueType where Value == Int {
    static func integer(in range: ClosedRange<Int>) -> Self {
        Self(read: { reader, key, fallback, _ in reader.integer(key, default: fallback, in: range) }, text: { "\($0)" })
    }
}

extension ConfigValueType where Value == Double {
    static func number(in range: ClosedRange<Double>) -> Self {
        Self(read: { reader, key, fallback, _ in reader.number(key, default: fallback, in: range) }, text: \.configText)
    }
}

extension ConfigValueType where Value == Bool {
    static let bool = Self(read: { reader, key, fallback, _ in reader.bool(key, default: fallback) }, text: { "\($0)" })
}

extension ConfigValueType where Value == String {
    /// Text; `check` names what is wrong with a value (nil: nothing).
    static func text(check: @escaping @Sendable (String) -> String? = { _ in nil }) -> Self {
        Self(
            read: { reader, key, fallback, _ in
                let value = reader.string(key, default: fallback)
                if let problem = check(value) { reader.problem(key, problem) }
                return value
            },
            text: { $0.isEmpty ? "\"\"" : $0 })
    }

    /// A file or folder, relative to the config file's folder.
    static let path = Self(read: { reader, key, fallback, context in context.resolve(reader.string(key, default: fallback)) }, text: { $0 })
}

extension ConfigValueType where Value == String? {
    /// A file or folder, or nothing.
    static let optionalPath = Self(
        read: { reader, key, fallback, context in reader.optionalString(key).map(context.resolve) ?? fallback }, text: { $0 ?? "(unset)" })
}

extension ConfigValueType where Value == [String] {
    /// `[a, b]` (or `a, b` in one scalar); `each` names what is wrong with one entry.
    static func list(each check: @escaping @Sendable (String) -> String? = { _ in nil }) -> Self {
        Self(
            read: { reader, key, fallback, _ in
                let values = reader.list(key, default: fallback)
                for value in values { if let problem = check(value) { reader.problem(key, problem) } }
                return values
            },
            text: { "[" + $0.map { $0.contains(":") ? "\"\($0)\"" : $0 }.joined(separator: ", ") + "]" })
    }
}

extension ConfigValueType where Value == ListenAddress {
    static let listen = Self(
        read: { reader, key, fallback, _ in
            let text = reader.string(key, default: fallback.description)
            guard let listen = ListenAddress(parsing: text) else {
                reader.problem(key, ListenAddress.problem(text))
                return fallback
            }
            return listen
        },
        text: \.description)
}

extension ConfigValueType where Value == ListenAddress? {
    static let optionalListen = Self(
        read: { reader, key, fallback, _ in
            guard let text = reader.optionalString(key) else { return fallback }
            guard let listen = ListenAddress(parsing: text) else {
                reader.problem(key, ListenAddress.problem(text))
                return nil
            }
            return listen
        },
        text: { $0?.description ?? "(unset)" })
}

extension ConfigValueType where Value == SocketGroup? {
    /// A group of this machine, by name.
    static let group = Self(
        read: { reader, key, fallback, _ in
            guard let name = reader.optionalString(key) else { return fallback }
            guard let group = SocketGroup(named: name) else {
                reader.problem(key, "there is no group '\(name)' on this machine (see /etc/group)")
                return nil
            }
            return group
        },
        text: { $0?.name ?? "(unset)" })
}

extension ConfigValueType {
    /// One of an enumeration's raw values; `noun` and the cases make the problem's words.
    static func choice(of noun: String) -> Self where Value: RawRepresentable<String> & CaseIterable {
        Self(
            read: { reader, key, fallback, _ in
                let text = reader.string(key, default: fallback.rawValue)
                guard let value = Value(rawValue: text) else {
                    let names = Value.allCases.map(\.rawValue)
                    reader.problem(key, "'\(text)' is not \(noun) (expected \(names.dropLast().joined(separator: ", ")) or \(names.last ?? ""))")
                    return fallback
                }
                return value
            },
            text: \.rawValue)
    }
}

extension ListenAddress {
    /// The problem with text that is not a listen address.
    static func problem(_ text: String) -> String { "'\(text)' is not host:port, [ipv6]:port or :port" }
}

import Lonc

/// Parsers for the value syntaxes of `balancerd.yaml`. Each returns nil for
/// text it does not accept; the loader turns that into a located problem.
public enum ConfigValueParsing {
    /// `500ms`, `5s`, `30m`, `1h`, `1.5s`; zero only as `0s`.
    public static func duration(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(suffix: String, milliseconds: Double)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)]
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            let number = trimmed.dropLast(unit.suffix.count)
            // "5ms" also ends in "s": only accept a plain number before the unit.
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                let value = Double(number), value.isFinite,
                // Past Int64 milliseconds (292 million years) is a typo, not a duration, and must not trap.
                let milliseconds = Int64(exactly: (value * unit.milliseconds).rounded())
            else { continue }
            return .milliseconds(milliseconds)
        }
        return nil
    }

    static func integer(_ text: String) -> Int? { Int(text.trimmingCharacters(in: .whitespaces)) }

    static func number(_ text: String) -> Double? {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else { return nil }
        return value
    }

    static func boolean(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }

    /// An absolute http or https URL with a host.
    static func isAbsoluteHTTPURL(_ text: String) -> Bool {
        for scheme in ["http://", "https://"] where text.lowercased().hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            return !authority.isEmpty && !text.contains(where: { $0.isWhitespace || ($0.asciiValue ?? 0x20) < 0x20 })
        }
        return false
    }

    /// The closest known key, for "did you mean" hints (edit distance ≤ 3).
    static func closest(to key: String, among candidates: [String]) -> String? {
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(key, candidate)
            if distance <= 3, distance < (best?.1 ?? .max) { best = (candidate, distance) }
        }
        return best?.0
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension Duration {
    /// `500ms`, `5s`, `2m`, `1h`, as an operator wrote it.
    public var configText: String {
        let milliseconds = millisecondsValue
        if milliseconds % 3_600_000 == 0, milliseconds > 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0, milliseconds > 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1_000 == 0 { return "\(milliseconds / 1_000)s" }
        return "\(milliseconds)ms"
    }
}

extension Double {
    /// `100` rather than `100.0`; `0.5` stays `0.5`.
    var configText: String {
        rounded() == self && abs(self) < 1e15 ? String(Int64(self)) : String(self)
    }
}

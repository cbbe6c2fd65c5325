import Foundation

/// The balancer's two load thresholds, drawn on every bar.
struct Thresholds: Sendable, Equatable {
    var maxLoad: Double
    var readmitLoad: Double
}

extension StatusPage {
    /// A bar with the thresholds marked, and its figure beside it (not on it:
    /// a figure over a bar is unreadable where the fill ends under it).
    /// The scale reaches past max_load, and stretches to show an overload.
    func meter(_ value: Double?, named: Bool = false) -> String {
        guard let value else {
            return "<div class=\"meter\"><div class=\"bar\" aria-hidden=\"true\"></div><span class=\"value muted\">unknown</span></div>"
        }
        let scale = max(thresholds.maxLoad * 1.2, 120, value)
        let width = position(value, scale)
        let level = value >= thresholds.maxLoad ? " over" : (value >= thresholds.readmitLoad ? " high" : "")
        // The names are CSS content: a text browser reads the legend instead of "maxreadmit".
        let names = named
            ? "<span class=\"mark-name max\" data-name=\"max_load\" style=\"left:\(position(thresholds.maxLoad, scale))%\"></span>"
                + "<span class=\"mark-name readmit\" data-name=\"readmit_load\" style=\"left:\(position(thresholds.readmitLoad, scale))%\"></span>"
            : ""
        return """
            <div class="meter\(named ? " named" : "")"><div class="bar" aria-hidden="true"><div class="fill\(level)" style="width:\(width)%"></div>\
            <div class="mark max" style="left:\(position(thresholds.maxLoad, scale))%" title="max_load \(percent(thresholds.maxLoad))"></div>\
            <div class="mark readmit" style="left:\(position(thresholds.readmitLoad, scale))%" title="readmit_load \(percent(thresholds.readmitLoad))"></div>\(names)</div>\
            <span class="value">\(percent(value))</span></div>
            """
    }

    private func position(_ value: Double, _ scale: Double) -> String {
        String(format: "%.1f", min(100, max(0, value / scale * 100)))
    }

    /// An SVG polyline of `[time, effective %]` samples, with the max_load line.
    func sparkline(_ points: [[Double?]]) -> String {
        let samples = points.compactMap { point -> (Double, Double)? in
            guard point.count == 2, let time = point[0], let value = point[1] else { return nil }
            return (time, value)
        }
        guard samples.count >= 2, let first = samples.first, let last = samples.last else {
            return "<span class=\"muted small\">no history yet</span>"
        }
        let top = max(thresholds.maxLoad * 1.2, samples.map(\.1).max() ?? 0)
        let span = max(last.0 - first.0, 1)
        let y = { (value: Double) in String(format: "%.1f", 24 - value / top * 24) }
        let line = samples.map { String(format: "%.1f", ($0.0 - first.0) / span * 120) + "," + y($0.1) }.joined(separator: " ")
        return """
            <svg class="spark" viewBox="0 0 120 24" preserveAspectRatio="none" role="img" aria-label="effective load over the last \(duration(span))">\
            <line x1="0" x2="120" y1="\(y(thresholds.maxLoad))" y2="\(y(thresholds.maxLoad))"></line><polyline points="\(line)"></polyline></svg>
            """
    }

    /// The time span the sparklines cover, in words, from this server's own history.
    func sparkSpan() -> String {
        let times = health.own.history.compactMap { $0.first ?? nil }
        guard let first = times.first, let last = times.last, last > first else { return "over the samples kept so far" }
        return "over the last \(duration(last - first))"
    }

    func percent(_ value: Double?) -> String {
        guard let value else { return "unknown" }
        return String(format: "%.1f %%", value)
    }

    /// `19:05:12 UTC`, with the date when it is not the page's day.
    func time(_ date: Date?) -> String {
        guard let date else { return "never" }
        let sameDay = Self.day(date) == Self.day(health.generatedAt)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = sameDay ? "HH:mm:ss 'UTC'" : "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: date)
    }

    private static func day(_ date: Date) -> Int { Int(date.timeIntervalSince1970 / 86_400) }

    func ago(_ date: Date) -> String { duration(health.generatedAt.timeIntervalSince(date)) + " ago" }

    func duration(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 90 { return "\(Int(s.rounded())) s" }
        if s < 5_400 { return "\(Int((s / 60).rounded())) min" }
        if s < 172_800 { return String(format: "%.1f h", s / 3_600) }
        return String(format: "%.1f days", s / 86_400)
    }
}

/// Decisions that differ only in their figures (`a2 at 41.2 %` then `a2 at
/// 41.9 %`), folded into one line with a count: twelve near-identical lines
/// hide the one decision that changed.
public struct DecisionGroup: Sendable, Equatable {
    public var time: Date
    public var firstTime: Date
    public var count: Int
    public var target: String
    /// The target is a backup / was chosen by a returning user's cookie.
    public var backup = false
    public var returning = false
    /// The newest reason of the group.
    public var reason: String

    /// Folds adjacent entries (newest first) with the same target and the same reason but for numbers.
    public static func fold(_ entries: [DecisionsDocument.Entry]) -> [DecisionGroup] {
        var groups: [(shape: String, group: DecisionGroup)] = []
        for entry in entries {
            let shape = entry.target + "\u{0}\(entry.backup)\(entry.returning)\u{0}" + reasonShape(entry.reason)
            if let last = groups.last, last.shape == shape {
                groups[groups.count - 1].group.count += entry.count
                groups[groups.count - 1].group.firstTime = entry.firstTime
            } else {
                groups.append((shape, DecisionGroup(
                    time: entry.time, firstTime: entry.firstTime, count: entry.count, target: entry.target,
                    backup: entry.backup, returning: entry.returning, reason: entry.reason)))
            }
        }
        return groups.map(\.group)
    }

    /// The reason with every number replaced by `#`.
    static func reasonShape(_ reason: String) -> String {
        var shape = ""
        var inNumber = false
        for character in reason {
            if character.isNumber || (inNumber && character == ".") {
                if !inNumber { shape.append("#") }
                inNumber = true
            } else {
                inNumber = false
                shape.append(character)
            }
        }
        return shape
    }
}

/// Text made safe for HTML element content and quoted attribute values.
///
/// By Unicode scalars, the units an HTML tokenizer reads, never by `Character`:
/// a grapheme cluster such as `"` followed by U+0301 (combining acute) is one
/// `Character` that equals no `"`, yet a browser reads its `"` and ends the
/// attribute there (issue 25's `/status?q=%22%CC%81%20autofocus%20onfocus%3D…`).
/// The status-page fuzz target (`Fuzz/Targets/StatusPageFuzz.swift`) holds it.
func htmlEscaped(_ text: String) -> String {
    var escaped = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": escaped.append(contentsOf: "&amp;".unicodeScalars)
        case "<": escaped.append(contentsOf: "&lt;".unicodeScalars)
        case ">": escaped.append(contentsOf: "&gt;".unicodeScalars)
        case "\"": escaped.append(contentsOf: "&quot;".unicodeScalars)
        case "'": escaped.append(contentsOf: "&#39;".unicodeScalars)
        default: escaped.append(scalar)
        }
    }
    return String(escaped)
}

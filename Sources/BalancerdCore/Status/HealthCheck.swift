import Foundation

/// `balancerd check-health`: the `/health` document judged the way a
/// Nagios/Icinga/Checkmk plugin answers (Monitoring Plugins guidelines): one
/// status line, performance data after `|`, and the exit code 0 OK,
/// 1 WARNING, 2 CRITICAL, 3 UNKNOWN. Pure: a document and thresholds in, the
/// answer out; the command only fetches the document and prints.
public struct HealthCheck: Sendable {
    public enum State: Int32, Sendable, Comparable {
        case ok = 0, warning = 1, critical = 2, unknown = 3

        public var label: String {
            switch self {
            case .ok: "OK"
            case .warning: "WARNING"
            case .critical: "CRITICAL"
            case .unknown: "UNKNOWN"
            }
        }

        public static func < (a: State, b: State) -> Bool { a.rawValue < b.rawValue }
    }

    /// When to warn or page. A nil threshold is not checked. "No target for
    /// logins" is always CRITICAL: `/login` then answers 503 to every user.
    public struct Thresholds: Sendable, Equatable {
        /// This server's effective load, in percent, at or above which to warn / page.
        public var load: Limits<Double>
        /// Peer links not up, at or above which to warn / page.
        public var linksDown: Limits<Int>
        /// Eligible spares below which to warn / page.
        public var eligible: Limits<Int>

        public init(load: Limits<Double> = Limits(), linksDown: Limits<Int> = Limits(warning: 1), eligible: Limits<Int> = Limits()) {
            (self.load, self.linksDown, self.eligible) = (load, linksDown, eligible)
        }
    }

    /// A figure's WARNING and CRITICAL thresholds; nil: not checked.
    public struct Limits<Value: Comparable & Sendable>: Sendable, Equatable {
        public var warning: Value?
        public var critical: Value?

        public init(warning: Value? = nil, critical: Value? = nil) {
            self.warning = warning
            self.critical = critical
        }

        /// The worst threshold `value` reaches, and its state; a threshold is
        /// reached when `reaches(value, threshold)`. nil: neither.
        func reached(by value: Value, when reaches: (Value, Value) -> Bool) -> (state: State, threshold: Value)? {
            if let critical, reaches(value, critical) { return (.critical, critical) }
            if let warning, reaches(value, warning) { return (.warning, warning) }
            return nil
        }

        /// `warning;critical` in performance data (empty where not set).
        func perfdata(_ text: (Value) -> String) -> String { "\(warning.map(text) ?? "");\(critical.map(text) ?? "")" }
    }

    public struct Answer: Sendable, Equatable {
        public var state: State
        /// `BALANCERD OK - …| perfdata`: what the plugin prints.
        public var line: String
    }

    public var thresholds: Thresholds

    public init(thresholds: Thresholds) { self.thresholds = thresholds }

    /// The answer when the health could not be read at all.
    public static func unknown(_ why: String) -> Answer {
        Answer(state: .unknown, line: "BALANCERD UNKNOWN - \(why.replacingOccurrences(of: "|", with: "/").replacingOccurrences(of: "\n", with: " "))")
    }

    public func evaluate(_ health: HealthDocument) -> Answer {
        let down = health.peers.filter { $0.link.state != .up }
        let spares = health.peers.filter(\.spare)
        let eligible = spares.filter(\.eligible).count
        let load = health.own.effectivePercent
        var findings: [(State, String)] = []

        if health.balancer.target == "none" {
            findings.append((.critical, "/login answers 503: \(health.balancer.reason)"))
        }
        if let load {
            if let (state, limit) = thresholds.load.reached(by: load, when: >=) {
                findings.append((state, "load \(Self.figure(load)) % >= \(Self.figure(limit)) %"))
            }
        } else if thresholds.load != Limits() {
            findings.append((.unknown, "this server's load is unknown"))
        }
        let downNames = down.map { "\($0.id) \($0.link.state.rawValue.replacingOccurrences(of: "_", with: " "))" }.joined(separator: ", ")
        if let (state, _) = thresholds.linksDown.reached(by: down.count, when: >=) {
            findings.append((state, "\(down.count) peer link\(down.count == 1 ? "" : "s") not up (\(downNames))"))
        }
        if let (state, limit) = thresholds.eligible.reached(by: eligible, when: <) {
            findings.append((state, "\(eligible) eligible spare\(eligible == 1 ? "" : "s") < \(limit)"))
        }

        let state = findings.map(\.0).max() ?? .ok
        let target = switch health.balancer.target {
        case "self": "this server"
        case "none": "nowhere"
        default: health.balancer.target
        }
        // The worst findings first: the line is cut short in many consoles.
        let problems = findings.sorted { $0.0 > $1.0 }.map(\.1)
        let summary = problems.isEmpty
            ? "\(health.host): logins go to \(target); \(health.peers.count - down.count)/\(health.peers.count) links up; load \(load.map { Self.figure($0) + " %" } ?? "unknown")"
            : "\(health.host): " + problems.joined(separator: "; ")
        let perfdata = [
            "load=\(load.map(Self.figure) ?? "U")%;\(thresholds.load.perfdata(Self.figure));0;",
            "userload=\(health.own.userloadPercent.map(Self.figure) ?? "U")%;;;0;",
            "links_down=\(down.count);\(thresholds.linksDown.perfdata(String.init));0;\(health.peers.count)",
            "eligible_spares=\(eligible);;;0;\(spares.count)",
            "delayed=\(health.peers.reduce(0) { $0 + $1.delayed });;;0;",
            "redirects=\(health.balancer.redirectsTotal)c",
            "no_target=\(health.balancer.noTargetTotal)c",
        ].joined(separator: " ")
        return Answer(state: state, line: "BALANCERD \(state.label) - \(summary.replacingOccurrences(of: "|", with: "/")) | \(perfdata)")
    }

    private static func figure(_ value: Double) -> String { String(format: "%.1f", value) }
}

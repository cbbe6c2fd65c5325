import Foundation
import Logging
import Lonc

/// This server's load as the agent reports it and the balancer uses it:
/// load average and active sessions, each normalised so the configured limit
/// is 100 % (the seed's `lonLoadLim` and `lonUserLoadLim`). Each server
/// normalises its own load, so servers of different sizes compare fairly.
///
/// A source that cannot be read makes its figure unknown, never 0: an
/// overloaded server whose sessions folder went missing must not look idle.
/// The agent answers `unknown` (`WireReply.unknown`) and `watch` logs the
/// failure once, when it starts, and once when it ends.
public struct LocalLoad: Sendable {
    /// Where the load averages come from.
    public let loadAverage: LoadAverageFile
    /// Where sessions are counted.
    public let sessions: SessionDirectory
    /// The 1-minute load average that counts as 100 %.
    public let loadLimit: Double
    /// The number of active sessions that counts as 100 %.
    public let userLoadLimit: Double
    /// Logs each source's failures once per change (nil: silent, for tests).
    public let watch: LoadSourceWatch?

    /// Creates the source.
    public init(loadAverage: LoadAverageFile, sessions: SessionDirectory, loadLimit: Double, userLoadLimit: Double, watch: LoadSourceWatch? = nil) {
        self.loadAverage = loadAverage
        self.sessions = sessions
        self.loadLimit = loadLimit
        self.userLoadLimit = userLoadLimit
        self.watch = watch
    }

    /// `100 × loadavg(1 min) / load_limit`; nil when the file cannot be read.
    public func loadPercent() -> Double? {
        do {
            let averages = try loadAverage.read()
            watch?.record(.loadFile, failure: nil)
            return 100 * averages.one / loadLimit
        } catch {
            watch?.record(.loadFile, failure: error)
            return nil
        }
    }

    /// `100 × active sessions / user_load_limit`; nil when the folder cannot be listed
    /// (missing, unreadable, hidden by the unit's sandbox): unknown, not "no sessions".
    public func userLoadPercent() -> Double? {
        do {
            let count = try sessions.activeSessions()
            watch?.record(.sessionsDirectory, failure: nil)
            return 100 * Double(count) / userLoadLimit
        } catch {
            watch?.record(.sessionsDirectory, failure: error)
            return nil
        }
    }

    /// A sample of this server, taken now.
    public func sample(sequence: UInt64) -> LoadSample {
        LoadSample(loadPercent: loadPercent(), userLoadPercent: userLoadPercent(), sequence: sequence)
    }

    /// The agent's reply to `load`: two decimals, e.g. `37.50`; `unknown` when unreadable.
    public func loadReply() -> String {
        Self.reply(loadPercent())
    }

    /// The agent's reply to `userload`: two decimals; `unknown` when unreadable.
    public func userLoadReply() -> String {
        Self.reply(userLoadPercent())
    }

    /// The agent's reply to `loadavg`: the three averages, space separated; `unknown` when unreadable.
    public func loadAverageReply() -> String {
        do {
            let averages = try loadAverage.read()
            return "\(WireNumber.format(averages.one)) \(WireNumber.format(averages.five)) \(WireNumber.format(averages.fifteen))"
        } catch {
            return WireReply.unknown
        }
    }

    private static func reply(_ percent: Double?) -> String {
        guard let percent, percent.isFinite else { return WireReply.unknown }
        return WireNumber.format(percent)
    }
}

/// Logs a load source's failure when it starts or changes, and its recovery:
/// one line per change, not one per poll (a poll every 2 s from every peer
/// would bury everything else).
public final class LoadSourceWatch: Sendable {
    /// The two sources the agent reads.
    public enum Source: String, Sendable {
        case loadFile = "agent.load_file"
        case sessionsDirectory = "agent.sessions_dir"
    }

    private let logger: Logger
    /// The last failure seen per source; absent: readable (or never read).
    private let failures = Locked<[Source: LoadSourceError]>([:])

    /// Creates a watch logging to `logger`.
    public init(logger: Logger) { self.logger = logger }

    /// The failure in force for each source now.
    public var current: [Source: LoadSourceError] { failures.withLock { $0 } }

    /// Notes the outcome of one read; logs only when it differs from the last one.
    func record(_ source: Source, failure: LoadSourceError?) {
        let previous: LoadSourceError?? = failures.withLock { failures in
            let previous = failures[source]
            guard previous != failure else { return .none }
            failures[source] = failure
            return .some(previous)
        }
        guard case .some(let previous) = previous else { return }
        let figure = source == .loadFile ? "load" : "userload"
        if let failure {
            logger.warning(
                "load source unreadable: its figure is unknown (this server is not chosen as a spare) until it can be read",
                metadata: ["key": "\(source.rawValue)", "figure": "\(figure)", "error": "\(failure)"])
        } else if let previous {
            logger.notice("load source readable again: its figure is known", metadata: ["key": "\(source.rawValue)", "figure": "\(figure)", "was": "\(previous)"])
        }
    }
}

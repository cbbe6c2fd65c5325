import Foundation
import Lonc

/// This server's load as the agent reports it and the balancer uses it:
/// load average and active sessions, each normalised so the configured limit
/// is 100 % (the seed's `lonLoadLim` and `lonUserLoadLim`). Each server
/// normalises its own load, so servers of different sizes compare fairly.
public struct LocalLoad: Sendable {
    /// Where the load averages come from.
    public let loadAverage: LoadAverageFile
    /// Where sessions are counted.
    public let sessions: SessionDirectory
    /// The 1-minute load average that counts as 100 %.
    public let loadLimit: Double
    /// The number of active sessions that counts as 100 %.
    public let userLoadLimit: Double

    /// Creates the source.
    public init(loadAverage: LoadAverageFile, sessions: SessionDirectory, loadLimit: Double, userLoadLimit: Double) {
        self.loadAverage = loadAverage
        self.sessions = sessions
        self.loadLimit = loadLimit
        self.userLoadLimit = userLoadLimit
    }

    /// `100 × loadavg(1 min) / load_limit`; nil when the file cannot be read.
    public func loadPercent() -> Double? {
        guard let averages = try? loadAverage.read() else { return nil }
        return 100 * averages.one / loadLimit
    }

    /// `100 × active sessions / user_load_limit`. A missing sessions folder
    /// counts as no sessions (a server without LON-CAPA sessions has none).
    public func userLoadPercent() -> Double? {
        do {
            return 100 * Double(try sessions.activeSessions()) / userLoadLimit
        } catch {
            return 0
        }
    }

    /// A sample of this server, taken now.
    public func sample(sequence: UInt64) -> LoadSample {
        LoadSample(loadPercent: loadPercent(), userLoadPercent: userLoadPercent(), sequence: sequence)
    }

    /// The agent's reply to `load`: two decimals, e.g. `37.50`; `error:<reason>` when unreadable.
    public func loadReply() -> String {
        do {
            return WireNumber.format(100 * (try loadAverage.read()).one / loadLimit)
        } catch {
            return "error:\(error)"
        }
    }

    /// The agent's reply to `userload`.
    public func userLoadReply() -> String {
        WireNumber.format(userLoadPercent() ?? 0)
    }

    /// The agent's reply to `loadavg`: the three averages, space separated.
    public func loadAverageReply() -> String {
        do {
            let averages = try loadAverage.read()
            return "\(WireNumber.format(averages.one)) \(WireNumber.format(averages.five)) \(WireNumber.format(averages.fifteen))"
        } catch {
            return "error:\(error)"
        }
    }
}

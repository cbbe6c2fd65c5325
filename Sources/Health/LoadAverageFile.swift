import Foundation

/// Reads load averages from a file in `/proc/loadavg`'s format:
///
///     0.52 0.58 0.59 1/389 12345
///
/// Tests, containers and the demo point it at a file of their own.
public struct LoadAverageFile: Sendable {
    /// The file read.
    public let path: String

    /// Reads `path` (default `/proc/loadavg`).
    public init(path: String = "/proc/loadavg") { self.path = path }

    /// The 1, 5 and 15 minute load averages.
    public func read() throws(LoadSourceError) -> LoadAverages {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: String(cString: strerror(errno == 0 ? ENOENT : errno)))
        }
        return try Self.parse(text, path: path)
    }

    /// Parses the text of a loadavg file.
    public static func parse(_ text: String, path: String) throws(LoadSourceError) -> LoadAverages {
        let fields = text.split(whereSeparator: \.isWhitespace).prefix(3).map { Double($0) }
        guard fields.count == 3, let one = fields[0], let five = fields[1], let fifteen = fields[2],
            [one, five, fifteen].allSatisfy({ $0.isFinite && $0 >= 0 })
        else {
            throw .malformed(path: path, found: String(text.prefix(80)).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return LoadAverages(one: one, five: five, fifteen: fifteen)
    }
}

/// The three load averages of a server.
public struct LoadAverages: Sendable, Equatable {
    /// 1-minute load average.
    public var one: Double
    /// 5-minute load average.
    public var five: Double
    /// 15-minute load average.
    public var fifteen: Double

    /// Creates the averages.
    public init(one: Double, five: Double, fifteen: Double) {
        self.one = one
        self.five = five
        self.fifteen = fifteen
    }
}

/// A load source that could not be read.
public enum LoadSourceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The file did not hold three load averages.
    case malformed(path: String, found: String)
    /// The sessions directory could not be listed.
    case sessionsUnreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read load averages from \(path): \(reason)"
        case .malformed(let path, let found): "\(path) does not hold three load averages (found '\(found)')"
        case .sessionsUnreadable(let path, let reason): "cannot list sessions in \(path): \(reason)"
        }
    }
}

import Foundation
import Logging

/// Keeps what is logged through it, for tests that count log lines or read
/// their metadata: `Logger(label: "test") { _ in log }`.
public final class CapturedLog: LogHandler, @unchecked Sendable {
    /// One line logged: its level, constant message and metadata.
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    private let lock = NSLock()
    private var stored: [Entry] = []
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init() {}

    /// The messages, in order.
    public var messages: [String] { entries.map(\.message) }
    /// Every line, in order.
    public var entries: [Entry] { lock.withLock { stored } }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let values = metadata.merging(event.metadata ?? [:]) { $1 }.mapValues { "\($0)" }
        lock.withLock { stored.append(Entry(level: event.level, message: event.message.description, metadata: values)) }
    }
}

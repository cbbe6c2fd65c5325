import NIOCore

/// The channel a server listens on, once bound: set by `start`, taken and
/// closed exactly once by `stop`, from whichever thread calls it.
public final class ListeningChannel: Sendable {
    private let channel = Locked<(any Channel)?>(nil)

    /// Nothing bound yet.
    public init() {}

    /// Records the bound channel.
    public func set(_ bound: any Channel) { channel.withLock { $0 = bound } }

    /// Closes the channel if one is bound (a second call does nothing).
    public func close() async {
        let bound = channel.withLock { current in
            defer { current = nil }
            return current
        }
        try? await bound?.close()
    }
}

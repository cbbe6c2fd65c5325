import NIOConcurrencyHelpers

/// A value behind a lock; `withLock` gives one caller at a time exclusive access:
///
///     let counts = Locked([String: Int]())
///     counts.withLock { $0["a2", default: 0] += 1 }
///
/// A pthread mutex (NIO's `NIOLockedValueBox`) rather than the standard
/// library's `Synchronization.Mutex`: ThreadSanitizer understands pthread
/// mutexes, while through `Mutex` on Linux it reports races that are not there
/// (seen with Swift 6.3.1), which would hide the real ones in `make sanitize`.
///
/// `Locked` is `Sendable` only when its value is: a lock makes access to a
/// value exclusive, it does not make a class that is not thread-safe safe to
/// hand to another thread once it has left the lock.
public struct Locked<Value> {
    @usableFromInline let box: NIOLockedValueBox<Value>

    /// Puts `value` behind a new lock.
    public init(_ value: Value) { box = NIOLockedValueBox(value) }

    /// Runs `body` with the lock held and the value to read or change.
    @inlinable
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try box.withLockedValue(body)
    }
}

extension Locked: Sendable where Value: Sendable {}

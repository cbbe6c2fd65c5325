import Lonc

/// Opens once, when a daemon part has reached a phase: started (the part
/// after it waits here before starting) or stopped (the part before it waits
/// here before stopping). A latch: once open it stays open.
///
/// A `ServiceGroup` starts every service at once and stops them in reverse
/// order. The daemon's parts also need to *start* in order (the relay names
/// the links, HTTP answers only once everything behind it is up), so each
/// part waits on the started latch of the part before it. A part that fails
/// to start fails its latch with its error, and every part after it rethrows
/// that same error: the group then reports the first failure, not a follow-on one.
final class PhaseLatch: Sendable {
    private enum State {
        case closed([CheckedContinuation<Void, any Error>])
        case open
        case failed(any Error)
    }

    private let state = Locked<State>(.closed([]))

    func open() { settle(.open) }

    func fail(_ error: any Error) { settle(.failed(error)) }

    /// Returns once the latch is open; throws the error it failed with.
    func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: State? = state.withLock { state in
                guard case .closed(var waiters) = state else { return state }
                waiters.append(continuation)
                state = .closed(waiters)
                return nil
            }
            switch outcome {
            case .open: continuation.resume()
            case .failed(let error): continuation.resume(throwing: error)
            case .closed, nil: break
            }
        }
    }

    private func settle(_ outcome: State) {
        let waiters: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            guard case .closed(let waiters) = state else { return [] }
            state = outcome
            return waiters
        }
        for waiter in waiters {
            if case .failed(let error) = outcome { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }
}

/// Opens once, with the HTTP port, when the daemon listens.
final class ReadyLatch: Sendable {
    private let state = Locked<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    func open(port: Int) {
        let waiters = state.withLock { state in
            state.port = port
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    func wait() async -> Int {
        await withCheckedContinuation { continuation in
            let port: Int? = state.withLock { state in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let port { continuation.resume(returning: port) }
        }
    }
}

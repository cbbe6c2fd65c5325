import ServiceLifecycle

/// One part of `balancerd serve` (links, poller, agent, relay, control socket,
/// HTTP, signals), run by `PartService` as one service of the daemon's group.
protocol DaemonPart: Sendable {
    /// Binds, connects or loads; throwing stops the daemon before HTTP answers.
    func start() async throws
    /// The part's work while running; returns at graceful shutdown (or cancellation).
    func serve() async
    /// Closes what `start` opened. Runs after `serve` returns, in the group's reverse order.
    func stop() async
}

extension DaemonPart {
    func serve() async { try? await gracefulShutdown() }
    func stop() async {}
}

/// A `DaemonPart` as a `Service`: starts after the part before it has
/// (see `PhaseLatch`), serves until graceful shutdown, then stops.
///
/// Parts also stop in reverse order when the group cancels them all at once
/// (a part failed to start): each waits until the part after it has stopped
/// (`laterStopped`), so the event loop outlives the links and the poller that
/// still schedule work on it.
struct PartService<Part: DaemonPart>: Service, CustomStringConvertible {
    let part: Part
    let after: PhaseLatch?
    let started: PhaseLatch
    /// Opens when the part after this one has stopped (nil: this is the last part).
    var laterStopped: PhaseLatch? = nil
    /// Opened once this part has stopped, or failed to start.
    var stopped = PhaseLatch()

    var description: String { "\(Part.self)" }

    func run() async throws {
        do {
            try await after?.wait()
            try await part.start()
        } catch {
            started.fail(error)
            stopped.open()
            throw error
        }
        started.open()
        await part.serve()
        try? await laterStopped?.wait()
        await part.stop()
        stopped.open()
    }
}

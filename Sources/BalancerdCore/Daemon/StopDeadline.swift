import Dispatch
import Foundation

/// Bounds the stop: once SIGTERM or SIGINT arrives, the graceful shutdown
/// (HTTP first, links last) has `limit` to finish; past it the process says
/// so on stderr and exits 1. The check runs on a Dispatch queue of its own,
/// so an event loop too busy to take its turn cannot hold the process up (a
/// supervisor would otherwise wait, then SIGKILL). Nothing is lost by the
/// hard exit: the delayed folder and the drains are files, written and
/// fsynced as they change.
public final class StopDeadline {
    private let sources: [any DispatchSourceSignal]

    /// Arms the deadline for `signals` (the service group also handles them: both are told).
    public init(limit: Duration, signals: [Int32] = [SIGTERM, SIGINT]) {
        let queue = DispatchQueue(label: "balancerd.stop-deadline")
        sources = signals.map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                queue.asyncAfter(deadline: .now() + Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18) {
                    FileHandle.standardError.write(Data("balancerd: still stopping \(limit) after signal \(number); exiting now (status 1)\n".utf8))
                    _exit(1)
                }
            }
            source.resume()
            return source
        }
    }

    deinit { sources.forEach { $0.cancel() } }
}

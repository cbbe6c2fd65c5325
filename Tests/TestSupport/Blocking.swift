import Foundation

/// Runs blocking work (a socket read with a long timeout, a wait for a process)
/// on a thread of its own, so it never holds one of the few threads Swift
/// concurrency shares between tests. A test that blocks one of them while the
/// code under test needs a task to answer (an `AgentApplication` is an actor)
/// can starve it: with every shared thread held by blocking tests, the answer
/// never comes.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}

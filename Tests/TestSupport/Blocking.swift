import Foundation

/// Runs blocking work (a socket read with a long timeout, a wait for a process)
/// on a thread of its own, so it never holds one of the few threads Swift
/// concurrency shares between tests. A test that blocks one of them while the
/// code under test needs a task to answer (an `AgentApplication` is an actor)
/// can starve it: with every shared thread held by blocking tests, the answer
/// never comes. `body` may throw; its error is rethrown here.
public func blocking<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: Result { () throws(E) -> T in try body() }) }
    }
    return try result.get()
}

import NIOCore

/// Up to `size` connection slots to the application handler; a request waits
/// for a free one, in arrival order, until its deadline:
///
///     acquire(by: t)  ──▶  a free slot now
///                     └─▶  waits ──▶ a slot released before t ──▶ that slot
///                                └─▶ t passes ──────────────────▶ nil (the caller answers con_lost)
///
/// The deadline keeps a command from waiting behind a stuck handler for
/// longer than `agent.handler_timeout`: without it, commands queued here
/// from a link that has closed since would still reach the handler, long
/// after anyone waits for their replies. A free slot whose connection last
/// carried `peer`'s commands is taken first (`HandlerSocketClient` gives each
/// connection one peer's commands only).
final class HandlerConnectionPool: Sendable {
    private struct Waiter: Sendable {
        var number: UInt64
        var continuation: CheckedContinuation<Int?, Never>
    }
    private struct State: Sendable {
        var free: [Int]
        var connections: [Int: HandlerConnection] = [:]
        var waiters: [Waiter] = []
        var nextWaiter: UInt64 = 0
    }
    private let state: Locked<State>

    init(size: Int) { state = Locked(State(free: Array(0..<size))) }

    /// A free slot, the one holding `peer`'s connection if free, or nil when none
    /// came free by `deadline` (the timer runs on `eventLoop`).
    func acquire(for peer: String, by deadline: NIODeadline, on eventLoop: any EventLoop) async -> Int? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int?, Never>) in
            let outcome = state.withLock { state -> (slot: Int?, waiter: UInt64?) in
                if let index = state.free.lastIndex(where: { state.connections[$0]?.peer == peer }) {
                    return (state.free.remove(at: index), nil)
                }
                if let slot = state.free.popLast() { return (slot, nil) }
                state.nextWaiter += 1
                state.waiters.append(Waiter(number: state.nextWaiter, continuation: continuation))
                return (nil, state.nextWaiter)
            }
            guard let number = outcome.waiter else { return continuation.resume(returning: outcome.slot) }
            eventLoop.scheduleTask(deadline: deadline) { [state] in
                let expired = state.withLock { state -> Waiter? in
                    guard let index = state.waiters.firstIndex(where: { $0.number == number }) else { return nil }
                    return state.waiters.remove(at: index)
                }
                expired?.continuation.resume(returning: nil)
            }
        }
    }

    /// Gives `slot` to the oldest waiter, or frees it.
    func release(_ slot: Int) {
        let waiter = state.withLock { state -> Waiter? in
            if state.waiters.isEmpty {
                state.free.append(slot)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.continuation.resume(returning: slot)
    }

    /// Requests waiting for a slot now.
    var waiting: Int { state.withLock { $0.waiters.count } }

    func connection(_ slot: Int) -> HandlerConnection? { state.withLock { $0.connections[slot] } }
    func put(_ connection: HandlerConnection, in slot: Int) { state.withLock { $0.connections[slot] = connection } }
    func take(_ slot: Int) -> HandlerConnection? { state.withLock { $0.connections.removeValue(forKey: slot) } }
    func takeAll() -> [HandlerConnection] {
        state.withLock { state in
            defer { state.connections = [:] }
            return Array(state.connections.values)
        }
    }
}

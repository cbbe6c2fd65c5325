import Foundation
import Lonc

/// Input: events, two bytes each (which event; which connection it is tagged
/// with, or the jitter), fed to `PeerLink.StateMachine` with `max_attempts` 4.
/// After every event:
/// - connection numbers only grow, and a `connect` action dials a new one;
/// - `upConnection` is set exactly when the state is up, and a link only
///   becomes up from handshaking on the same connection;
/// - the failure count stays below `max_attempts` except in `given_up`, and a
///   reset reports the count and the next step the state now holds;
/// - a backoff delay lies within `backoff_initial × 0.5` … `backoff_max`;
/// - `stopped` is for good: every later event leaves it stopped and dials nothing.
public enum LinkStateMachineFuzz {
    static let settings = LinkSettings(
        connectTimeout: .seconds(1), maxAttempts: 4, backoffInitial: .milliseconds(100), backoffMax: .seconds(2))

    static func run(_ bytes: [UInt8]) -> [String] {
        var machine = PeerLink.StateMachine(settings: settings)
        var input = FuzzInput(bytes)
        var highest = 0
        var step = 0
        while !input.isAtEnd {
            let kind = input.byte() % 9
            let argument = input.byte()
            let before = machine.state
            // Events are tagged with the current connection, or one a few back, or one not yet made.
            let current = machine.currentConnection ?? highest
            let connection = max(0, current - Int(argument % 4) + (argument & 0x80 == 0 ? 0 : 1))
            let action: PeerLink.StateMachine.Action
            let event: String
            switch kind {
            case 0: (action, event) = (machine.start(), "start")
            case 1: (action, event) = (machine.retry(), "retry")
            case 2:
                let after = if case .backoff(let backoff) = before { argument & 1 == 0 ? backoff.after : connection } else { connection }
                (action, event) = (machine.backoffTimerFired(after: after), "backoff timer of \(after)")
            case 3: (action, event) = (machine.connected(connection), "connected \(connection)")
            case 4: (action, event) = (machine.transportEstablished(connection, protocolVersion: "TLSv1.3", cipher: "c\(argument)"), "transport \(connection)")
            case 5: (action, event) = (machine.handshakeCompleted(connection, peerVersion: "v\(argument)", requestIDs: argument & 1 == 0), "handshake \(connection)")
            case 6, 7:
                let jitter = 0.5 + Double(argument) / 510
                (action, event) = (machine.failed(connection, .closedByPeer, jitter: jitter), "failed \(connection) jitter \(jitter)")
            default: (action, event) = (machine.shutdown(), "shutdown")
            }
            step += 1
            let broken = check(before: before, after: machine, action: action, highest: &highest)
            if !broken.isEmpty { return broken.map { "event \(step) (\(event)) from \(before): \($0)" } }
        }
        return []
    }

    static func check(
        before: PeerLink.StateMachine.State, after machine: PeerLink.StateMachine, action: PeerLink.StateMachine.Action, highest: inout Int
    ) -> [String] {
        var broken: [String] = []
        let state = machine.state
        // A second shutdown repeats `.stop` (cancel timers, close nothing): harmless, and allowed.
        if case .stopped = before, state != .stopped || ![.none, .closeStray, .stop].contains(action) {
            broken.append("left stopped: \(state), \(action)")
        }
        if case .connect(let connection, let deadline) = action {
            if connection <= highest { broken.append("dialled connection \(connection) again (highest \(highest))") }
            if deadline != settings.connectTimeout * 2 { broken.append("connect deadline \(deadline)") }
            highest = connection
        }
        if let current = machine.currentConnection, current > highest { broken.append("connection \(current) never dialled") }
        if case .up(let up) = state {
            if machine.upConnection != up.connection { broken.append("upConnection \(String(describing: machine.upConnection)) while up on \(up.connection)") }
            if case .becomeUp = action {
                if case .handshaking(let attempt) = before, attempt.connection == up.connection {} else { broken.append("became up from \(before)") }
            }
        } else if machine.upConnection != nil {
            broken.append("upConnection set while \(state)")
        }
        if case .givenUp(let failures) = state {
            if failures < settings.maxAttempts { broken.append("given up after \(failures) failures") }
        } else if machine.failures >= settings.maxAttempts {
            broken.append("\(machine.failures) failures without giving up")
        }
        // The status operators see is the machine's state, never set apart from it.
        let status = machine.status(peerID: "p", since: Date(timeIntervalSince1970: 0))
        if status?.state != machine.linkState || (status != nil && status?.attempts != machine.failures) {
            broken.append("status \(String(describing: status)) while \(state)")
        }
        if case .up(let up) = state, status?.peerVersion != up.peerVersion { broken.append("status shows peer version \(String(describing: status?.peerVersion)) while up with \(up.peerVersion)") }
        if case .reset(let reset) = action {
            if status?.lastError != reset.reason.description { broken.append("status shows last error \(String(describing: status?.lastError)) after \(reset.reason)") }
            if reset.failures != machine.failures { broken.append("reset says \(reset.failures) failures, state holds \(machine.failures)") }
            switch (reset.next, state) {
            case (.giveUp, .givenUp): break
            case (.retry(let delay), .backoff(let backoff)):
                if delay != backoff.delay { broken.append("reset delay \(delay), backoff holds \(backoff.delay)") }
                if delay < settings.backoffInitial / 2 || delay > settings.backoffMax { broken.append("backoff delay \(delay) out of range") }
            default: broken.append("reset \(reset.next) but state \(state)")
            }
        }
        return broken
    }
}

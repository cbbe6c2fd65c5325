import Foundation
import Testing
@testable import Lonc

/// The link's life as plain values: every state, every event in it, no socket,
/// no clock. Read with `PeerLink.StateMachine`'s picture beside it.
@Suite("peer link state machine")
struct PeerLinkStateMachineTests {
    typealias Machine = PeerLink.StateMachine
    static let settings = LinkSettings(
        connectTimeout: .seconds(5), maxAttempts: 3, backoffInitial: .milliseconds(500), backoffMax: .seconds(30))
    static let refused = LinkFailure.connectFailed(address: "127.0.0.1:5663", reason: "Connection refused")

    /// A machine taken to `up` on connection 1.
    static func upMachine() -> Machine {
        var machine = Machine(settings: settings)
        _ = machine.start()
        _ = machine.connected(1)
        _ = machine.handshakeCompleted(1, peerVersion: "0.1.0", requestIDs: false)
        return machine
    }

    /// A machine in backoff after one failed attempt on connection 1.
    static func backoffMachine() -> Machine {
        var machine = Machine(settings: settings)
        _ = machine.start()
        _ = machine.failed(1, refused, jitter: 1)
        return machine
    }

    /// A machine given up after `maxAttempts` refused connects (connections 1…3).
    static func givenUpMachine() -> Machine {
        var machine = Machine(settings: settings)
        _ = machine.start()
        for connection in 1...settings.maxAttempts {
            if connection > 1 { _ = machine.backoffTimerFired(after: connection - 1) }
            _ = machine.failed(connection, refused, jitter: 1)
        }
        return machine
    }

    // MARK: idle

    @Test("idle: start dials connection 1 with a deadline of twice connect_timeout; nothing else moves it")
    func idle() {
        var machine = Machine(settings: Self.settings)
        #expect(machine.state == .idle)
        #expect(machine.linkState == nil)
        #expect(machine.retry() == .none)
        #expect(machine.backoffTimerFired(after: 0) == .none)
        #expect(machine.failed(0, .closedByPeer, jitter: 1) == .none)
        #expect(machine.handshakeCompleted(0, peerVersion: "x", requestIDs: false) == .none)
        #expect(machine.state == .idle)
        #expect(machine.start() == .connect(connection: 1, deadline: .seconds(10)))
        #expect(machine.state == .connecting(.init(connection: 1, failures: 0)))
        #expect(machine.linkState == .connecting)
    }

    // MARK: connecting

    @Test("connecting: the connect succeeds, the link handshakes")
    func connectingToHandshaking() {
        var machine = Machine(settings: Self.settings)
        _ = machine.start()
        #expect(machine.transportEstablished(1, protocolVersion: "plain", cipher: nil) == .none, "no transport before the connect finished")
        #expect(machine.connected(1) == .publishHandshaking)
        #expect(machine.state == .handshaking(.init(connection: 1, failures: 0)))
        #expect(machine.linkState == .handshaking)
        #expect(machine.currentConnection == 1)
        #expect(machine.upConnection == nil)
    }

    @Test("connecting: a refused connect backs off by backoff_initial × jitter, failure 1")
    func connectRefused() {
        var machine = Machine(settings: Self.settings)
        _ = machine.start()
        let action = machine.failed(1, Self.refused, jitter: 0.5)
        #expect(action == .reset(.init(reason: Self.refused, failures: 1, wasUp: false, next: .retry(after: .milliseconds(250)))))
        #expect(machine.state == .backoff(.init(failures: 1, delay: .milliseconds(250), after: 1)))
        #expect(machine.linkState == .backoff)
        #expect(machine.failures == 1)
    }

    @Test("connecting: the setup deadline passing is a failure like any other")
    func connectDeadline() {
        var machine = Machine(settings: Self.settings)
        _ = machine.start()
        let tooSlow = LinkFailure.setupTooSlow(connectTimeout: .seconds(5))
        #expect(machine.failed(1, tooSlow, jitter: 1) == .reset(.init(reason: tooSlow, failures: 1, wasUp: false, next: .retry(after: .milliseconds(500)))))
        #expect(tooSlow.description.contains("did not finish within 5.0 seconds"))
    }

    @Test("connecting: start and retry do nothing while an attempt is under way")
    func connectingIgnoresStartAndRetry() {
        var machine = Machine(settings: Self.settings)
        _ = machine.start()
        #expect(machine.start() == .none)
        #expect(machine.retry() == .none)
        #expect(machine.state == .connecting(.init(connection: 1, failures: 0)))
    }

    // MARK: handshaking

    @Test("handshaking: the transport is recorded, then the handshake brings the link up with its failures cleared")
    func handshakingToUp() {
        var machine = Self.backoffMachine()
        _ = machine.backoffTimerFired(after: 1)
        _ = machine.connected(2)
        #expect(machine.failures == 1)
        #expect(machine.transportEstablished(2, protocolVersion: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384") == .recordTransport)
        #expect(machine.transportEstablished(1, protocolVersion: "plain", cipher: nil) == .none, "an old connection's transport is not recorded")
        #expect(machine.handshakeCompleted(2, peerVersion: "0.1.0", requestIDs: true) == .becomeUp(peerVersion: "0.1.0"))
        #expect(machine.state == .up(.init(connection: 2, peerVersion: "0.1.0")))
        #expect(machine.failures == 0)
        #expect(machine.upConnection == 2)
        // What operators see is derived from the machine: the last failure stays after the link is up again.
        let since = Date(timeIntervalSince1970: 7)
        let status = LinkStatus(
            peerID: "p", state: .up, since: since, attempts: 0, lastError: Self.refused.description, peerVersion: "0.1.0",
            tlsVersion: "TLSv1.3", tlsCipher: "TLS_AES_256_GCM_SHA384", requestIDs: true)
        #expect(machine.status(peerID: "p", since: since) == status)
    }

    @Test("handshaking: a wrong answer counts as a failed attempt")
    func handshakeFails() {
        var machine = Machine(settings: Self.settings)
        _ = machine.start()
        _ = machine.connected(1)
        let wrong = LinkFailure.handshake(.wrongHost(peerID: "msua2", address: "10.0.0.2:5663", got: "error:wrong_host"))
        #expect(machine.failed(1, wrong, jitter: 1) == .reset(.init(reason: wrong, failures: 1, wasUp: false, next: .retry(after: .milliseconds(500)))))
        #expect(wrong.description == "handshake: the agent at 10.0.0.2:5663 is not 'msua2' (it answered 'error:wrong_host' to sethost)")
    }

    @Test("handshaking: a completion for another connection is ignored")
    func staleHandshake() {
        var machine = Machine(settings: Self.settings)
        _ = machine.start()
        _ = machine.connected(1)
        #expect(machine.handshakeCompleted(7, peerVersion: "x", requestIDs: false) == .none)
        #expect(machine.linkState == .handshaking)
    }

    // MARK: up

    @Test("up: a request timeout, a stray line, a close or an error each reset the link as a loss, failure 1", arguments: [
        LinkFailure.requestTimedOut(.seconds(60)), .unsolicitedLine("agent1 again"), .closedByPeer, .transport("line longer than 1024 bytes"),
    ])
    func upFails(reason: LinkFailure) {
        var machine = Self.upMachine()
        #expect(machine.failed(1, reason, jitter: 1) == .reset(.init(reason: reason, failures: 1, wasUp: true, next: .retry(after: .milliseconds(500)))))
        #expect(machine.state == .backoff(.init(failures: 1, delay: .milliseconds(500), after: 1)))
        #expect(machine.upConnection == nil)
    }

    @Test("up: events of an older connection, start, retry and a late backoff timer leave it up")
    func upIgnoresStale() {
        var machine = Self.upMachine()
        #expect(machine.failed(0, .closedByPeer, jitter: 1) == .none)
        #expect(machine.start() == .none)
        #expect(machine.retry() == .none)
        #expect(machine.backoffTimerFired(after: 1) == .none)
        #expect(machine.connected(0) == .closeStray)
        #expect(machine.state == .up(.init(connection: 1, peerVersion: "0.1.0")))
    }

    // MARK: backoff

    @Test("backoff: the timer dials the next connection, keeping the failure count")
    func backoffTimer() {
        var machine = Self.backoffMachine()
        #expect(machine.backoffTimerFired(after: 0) == .none, "a timer of another failure is ignored")
        #expect(machine.backoffTimerFired(after: 1) == .connect(connection: 2, deadline: .seconds(10)))
        #expect(machine.state == .connecting(.init(connection: 2, failures: 1)))
        #expect(machine.connected(1) == .closeStray, "the old connection's late connect is closed")
    }

    @Test("backoff: each failure in a row doubles the delay, up to backoff_max")
    func backoffGrows() {
        let settings = LinkSettings(maxAttempts: 100, backoffInitial: .milliseconds(500), backoffMax: .seconds(2))
        var machine = Machine(settings: settings)
        _ = machine.start()
        var delays: [Duration] = []
        for connection in 1...5 {
            if connection > 1 { _ = machine.backoffTimerFired(after: connection - 1) }
            if case .reset(let reset) = machine.failed(connection, Self.refused, jitter: 1), case .retry(let delay) = reset.next {
                delays.append(delay)
            }
        }
        #expect(delays == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(2), .seconds(2)])
    }

    @Test("backoff: retry dials now with the failure count reset; a failure of the old connection is ignored")
    func backoffRetry() {
        var machine = Self.backoffMachine()
        #expect(machine.failed(1, .closedByPeer, jitter: 1) == .none)
        #expect(machine.retry() == .connect(connection: 2, deadline: .seconds(10)))
        #expect(machine.state == .connecting(.init(connection: 2, failures: 0)))
        #expect(machine.backoffTimerFired(after: 1) == .none, "the cancelled timer, had it fired, changes nothing")
    }

    // MARK: given up

    @Test("given_up: max_attempts failures in a row; no timer, only a retry brings it back")
    func givenUp() {
        var machine = Self.givenUpMachine()
        #expect(machine.state == .givenUp(failures: 3))
        #expect(machine.linkState == .givenUp)
        #expect(machine.failures == 3)
        #expect(machine.backoffTimerFired(after: 3) == .none)
        #expect(machine.start() == .none)
        #expect(machine.retry() == .connect(connection: 4, deadline: .seconds(10)))
        #expect(machine.failures == 0)
    }

    @Test("given_up: the last failure says so in its action")
    func givingUp() {
        var machine = Machine(settings: Self.settings)
        _ = machine.start()
        _ = machine.failed(1, Self.refused, jitter: 1)
        _ = machine.backoffTimerFired(after: 1)
        _ = machine.failed(2, Self.refused, jitter: 1)
        _ = machine.backoffTimerFired(after: 2)
        #expect(machine.failed(3, Self.refused, jitter: 1) == .reset(.init(reason: Self.refused, failures: 3, wasUp: false, next: .giveUp)))
    }

    @Test("a link that comes up and drops max_attempts times never gives up: each loss is failure 1")
    func flappingNeverGivesUp() {
        var machine = Machine(settings: Self.settings)
        _ = machine.start()
        for connection in 1...10 {
            if connection > 1 { _ = machine.backoffTimerFired(after: connection - 1) }
            _ = machine.connected(connection)
            _ = machine.handshakeCompleted(connection, peerVersion: "v", requestIDs: false)
            _ = machine.failed(connection, .closedByPeer, jitter: 1)
        }
        #expect(machine.state == .backoff(.init(failures: 1, delay: .milliseconds(500), after: 10)))
    }

    // MARK: stopped

    @Test("shutdown stops the link from any state, for good", arguments: ["idle", "connecting", "handshaking", "up", "backoff", "given_up"])
    func shutdown(from: String) {
        var machine = Machine(settings: Self.settings)
        switch from {
        case "connecting": _ = machine.start()
        case "handshaking": _ = machine.start(); _ = machine.connected(1)
        case "up": machine = Self.upMachine()
        case "backoff": machine = Self.backoffMachine()
        case "given_up": machine = Self.givenUpMachine()
        default: break
        }
        #expect(machine.shutdown() == .stop)
        #expect(machine.state == .stopped)
        #expect(machine.linkState == nil)
        #expect(machine.start() == .none)
        #expect(machine.retry() == .none)
        #expect(machine.backoffTimerFired(after: 1) == .none)
        #expect(machine.failed(1, .closedByPeer, jitter: 1) == .none)
        #expect(machine.handshakeCompleted(1, peerVersion: "v", requestIDs: false) == .none)
        #expect(machine.connected(1) == .closeStray, "a connect that finishes after shutdown is closed")
        #expect(machine.currentConnection == nil)
    }

    @Test("fuzz finding second-shutdown-repeats-stop: a second shutdown answers .stop again and stays stopped; the driver's stop is idempotent")
    func secondShutdownRepeatsStop() {
        var machine = Self.upMachine()
        #expect(machine.shutdown() == .stop)
        #expect(machine.shutdown() == .stop, "PeerLink.perform(.stop) cancels a timer and closes a channel that are already gone")
        #expect(machine.state == .stopped)
        #expect(machine.start() == .none)
    }
}

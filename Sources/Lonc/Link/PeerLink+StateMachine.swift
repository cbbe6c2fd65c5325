import Foundation

extension PeerLink {
    /// The life of one link, as a value: events in, one action out. No channel,
    /// no clock, no randomness of its own (the jitter is passed in), so every
    /// transition is a plain-value test (docs/REFERENCE.md, "Link life"):
    ///
    ///     idle ─start─▶ connecting ─connected─▶ handshaking ─handshake done─▶ up
    ///                      │                        │                         │
    ///                      └────── failure (refused, deadline, handshake, ────┘
    ///                              timeout, stray line, close, error)
    ///                                          │
    ///                     failures < max_attempts │ failures = max_attempts
    ///                                  ▼                    ▼
    ///            connecting ◀─timer─ backoff            given_up
    ///            connecting ◀──────── retry ─────────────────┘ (and from backoff)
    ///
    ///     any state ─shutdown─▶ stopped (for good)
    ///
    /// Every connection gets a number; an event tagged with a number other than
    /// the current connection's is from a connection already given up and is
    /// ignored, so a late close or reply can never hit the next connection.
    ///
    /// The machine is also the one home of what operators see of the link:
    /// `status(peerID:since:)` derives the `LinkStatus` from the state, the
    /// last failure and what the latest connection negotiated.
    package struct StateMachine {
        package enum State: Equatable {
            /// Created, not started.
            case idle
            /// TCP connect in progress.
            case connecting(Attempt)
            /// Connected; TLS and the `init` dialogue in progress.
            case handshaking(Attempt)
            /// Requests flow.
            case up(UpState)
            /// Waiting `delay` before the next attempt.
            case backoff(BackoffState)
            /// `max_attempts` failures in a row: nothing until a retry.
            case givenUp(failures: Int)
            /// Shut down for good.
            case stopped
        }

        /// One try at bringing the link up.
        package struct Attempt: Equatable {
            /// The connection's number.
            package var connection: Int
            /// Failures in a row before this attempt.
            package var failures: Int
        }

        /// A link that finished its handshake.
        package struct UpState: Equatable {
            package var connection: Int
            package var peerVersion: String
        }

        /// A link waiting to try again.
        package struct BackoffState: Equatable {
            /// Failures in a row so far.
            package var failures: Int
            /// How long it waits.
            package var delay: Duration
            /// The connection that failed: the timer's tag.
            package var after: Int
        }

        /// What the driver does next.
        package enum Action: Equatable {
            case none
            /// Dial connection `connection`; fail it if it is not up within `deadline`.
            case connect(connection: Int, deadline: Duration)
            /// A connect finished for a connection that is no longer current: close that channel.
            case closeStray
            /// Show the connection as handshaking.
            case publishHandshaking
            /// The TLS version and cipher of the current connection were recorded: publish them.
            case recordTransport
            /// The handshake finished: cancel the deadline, show the link up.
            case becomeUp(peerVersion: String)
            /// The connection failed: close it (its requests get `con_lost`), then back off or give up.
            case reset(Reset)
            /// Cancel timers and close the connection for good.
            case stop
        }

        /// What a failure leads to.
        package struct Reset: Equatable {
            package var reason: LinkFailure
            /// Failures in a row, this one included.
            package var failures: Int
            /// True when the link was up (a loss) rather than coming up (a failed attempt).
            package var wasUp: Bool
            package var next: Next

            package enum Next: Equatable {
                case retry(after: Duration)
                case giveUp
            }
        }

        /// What the latest connection negotiated, as far as it got; kept when the link goes down.
        package struct Negotiated: Equatable {
            package var tlsVersion: String?
            package var tlsCipher: String?
            package var peerVersion: String?
            package var requestIDs: Bool?
        }

        package let settings: LinkSettings
        package private(set) var state: State = .idle
        /// The latest failure; kept once the link is up again.
        package private(set) var lastFailure: LinkFailure?
        package private(set) var negotiated = Negotiated()
        private var lastConnection = 0

        package init(settings: LinkSettings) { self.settings = settings }

        // MARK: - Reading the state

        /// The state operators see; nil before start and after shutdown.
        package var linkState: LinkState? {
            switch state {
            case .idle, .stopped: nil
            case .connecting: .connecting
            case .handshaking: .handshaking
            case .up: .up
            case .backoff: .backoff
            case .givenUp: .givenUp
            }
        }

        /// Failures in a row, as the status shows them.
        package var failures: Int {
            switch state {
            case .idle, .stopped, .up: 0
            case .connecting(let attempt), .handshaking(let attempt): attempt.failures
            case .backoff(let backoff): backoff.failures
            case .givenUp(let failures): failures
            }
        }

        /// The status operators see, `since` the state was entered; nil before
        /// start and after shutdown (the last one published stands).
        package func status(peerID: String, since: Date) -> LinkStatus? {
            guard let linkState else { return nil }
            return LinkStatus(
                peerID: peerID, state: linkState, since: since, attempts: failures, lastError: lastFailure?.description,
                peerVersion: negotiated.peerVersion, tlsVersion: negotiated.tlsVersion, tlsCipher: negotiated.tlsCipher,
                requestIDs: negotiated.requestIDs)
        }

        /// The connection that takes requests, if the link is up.
        package var upConnection: Int? {
            if case .up(let up) = state { return up.connection }
            return nil
        }

        /// The connection being set up or in use, if any.
        package var currentConnection: Int? {
            switch state {
            case .connecting(let attempt), .handshaking(let attempt): attempt.connection
            case .up(let up): up.connection
            case .idle, .backoff, .givenUp, .stopped: nil
            }
        }

        // MARK: - Events

        /// `start()`: the first connect.
        package mutating func start() -> Action {
            guard case .idle = state else { return .none }
            return connect(failures: 0)
        }

        /// `retry()` (SIGUSR1, `ctl reconnect`, an inbound link): try now, with the count reset.
        package mutating func retry() -> Action {
            switch state {
            case .backoff, .givenUp: return connect(failures: 0)
            case .idle, .connecting, .handshaking, .up, .stopped: return .none
            }
        }

        /// The backoff delay after connection `after` has passed.
        package mutating func backoffTimerFired(after connection: Int) -> Action {
            guard case .backoff(let backoff) = state, backoff.after == connection else { return .none }
            return connect(failures: backoff.failures)
        }

        /// TCP connect of `connection` succeeded.
        package mutating func connected(_ connection: Int) -> Action {
            guard case .connecting(let attempt) = state, attempt.connection == connection else { return .closeStray }
            state = .handshaking(attempt)
            return .publishHandshaking
        }

        /// TLS (or plain TCP) is ready on `connection`, with this protocol and
        /// cipher (`plain`, nil); the `init` dialogue starts.
        package mutating func transportEstablished(_ connection: Int, protocolVersion: String, cipher: String?) -> Action {
            guard case .handshaking(let attempt) = state, attempt.connection == connection else { return .none }
            (negotiated.tlsVersion, negotiated.tlsCipher) = (protocolVersion, cipher)
            return .recordTransport
        }

        /// The agent answered `version:<v>` (with `ids` when both sides tag
        /// requests): the link is up and its failure count cleared.
        package mutating func handshakeCompleted(_ connection: Int, peerVersion: String, requestIDs: Bool) -> Action {
            guard case .handshaking(let attempt) = state, attempt.connection == connection else { return .none }
            state = .up(UpState(connection: connection, peerVersion: peerVersion))
            (negotiated.peerVersion, negotiated.requestIDs) = (peerVersion, requestIDs)
            return .becomeUp(peerVersion: peerVersion)
        }

        /// Connection `connection` failed for `reason`: connect refused, the connect
        /// deadline, a handshake error, a request timeout, a line with nothing
        /// outstanding, a transport error or the peer's close. `jitter` (0.5…1)
        /// scales the backoff delay.
        package mutating func failed(_ connection: Int, _ reason: LinkFailure, jitter: Double) -> Action {
            let failures: Int
            let wasUp: Bool
            switch state {
            case .connecting(let attempt) where attempt.connection == connection,
                .handshaking(let attempt) where attempt.connection == connection:
                failures = attempt.failures + 1
                wasUp = false
            case .up(let up) where up.connection == connection:
                failures = 1
                wasUp = true
            default:
                return .none
            }
            lastFailure = reason
            if failures >= settings.maxAttempts {
                state = .givenUp(failures: failures)
                return .reset(Reset(reason: reason, failures: failures, wasUp: wasUp, next: .giveUp))
            }
            let delay = settings.backoff(afterFailures: failures, jitter: jitter)
            state = .backoff(BackoffState(failures: failures, delay: delay, after: connection))
            return .reset(Reset(reason: reason, failures: failures, wasUp: wasUp, next: .retry(after: delay)))
        }

        /// `shutdown()`: stop for good, from any state.
        package mutating func shutdown() -> Action {
            state = .stopped
            return .stop
        }

        private mutating func connect(failures: Int) -> Action {
            lastConnection += 1
            state = .connecting(Attempt(connection: lastConnection, failures: failures))
            // TCP connect and then TLS + init dialogue, each within connect_timeout.
            return .connect(connection: lastConnection, deadline: settings.connectTimeout * 2)
        }
    }
}

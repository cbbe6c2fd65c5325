import Foundation
import Logging
import NIOCore

/// One persistent link to one peer's agent (the seed's lonc child).
///
/// The link's life is `PeerLink.StateMachine` (connecting, handshaking, up,
/// backoff, given_up); this class only performs its actions: it dials, keeps
/// the timers, closes channels and publishes the status. Each connection's
/// pipeline (`connect(_:)`) does the per-line work: the `init` dialogue in
/// `LinkHandshakeHandler`, pipelining, the request timeout and keepalive pings
/// in `RequestMatcher`.
///
/// Every request on a link that is not up, or whose connection ends before its
/// reply, returns `con_lost`. All mutable state below `loop-confined` is touched
/// only on `eventLoop`. After every event the status is derived from the
/// machine (`publish`), kept behind a lock (readable anywhere) and, when it
/// changed, handed to the listeners, on the loop.
public final class PeerLink: PeerRequesting, @unchecked Sendable {
    /// The peer, as the hosts table describes it.
    public let host: HostEntry
    /// The peer's id.
    public var peerID: String { host.id }
    /// The settings in force.
    public let settings: LinkSettings
    let transport: any TransportSecurity
    /// The event loop this link lives on.
    public let eventLoop: any EventLoop
    private let logger: Logger
    private let published: Locked<LinkStatus>
    private let counters = Locked(LinkTraffic())
    private let listeners: [any LinkListener]
    /// Shared by the supervisor's links: attempts in flight at once (nil: unpaced).
    private let pacer: ConnectionPacer?

    // loop-confined
    var machine: StateMachine
    var channel: (any Channel)?
    /// The request matcher of `channel`'s pipeline, called directly (no trip through the pipeline).
    var requests: RequestMatcher?
    /// The backoff delay while backing off.
    private var timer: Scheduled<Void>?
    /// The connect deadline while coming up (left to fire, harmlessly, once up).
    private var setupDeadline: Scheduled<Void>?
    private var flushScheduled = false
    /// This link's attempt holds one of the pacer's slots.
    private var holdsConnectSlot = false

    /// Creates a link; it does nothing until `start()`. `pacer`: shared by the
    /// links of one supervisor, so that only so many attempts run at once;
    /// `listeners`: told of every change of its status.
    public init(
        host: HostEntry, settings: LinkSettings, transport: any TransportSecurity, eventLoop: any EventLoop, logger: Logger,
        pacer: ConnectionPacer? = nil, listeners: [any LinkListener] = []
    ) {
        self.pacer = pacer
        self.listeners = listeners
        self.host = host
        self.settings = settings
        self.transport = transport
        self.eventLoop = eventLoop
        var logger = logger
        logger[metadataKey: "peer"] = "\(host.id)"
        self.logger = logger
        self.published = Locked(LinkStatus(peerID: host.id))
        self.machine = StateMachine(settings: settings)
    }

    /// The link's current status, as last derived from its state machine.
    public var status: LinkStatus { published.withLock { $0 } }

    /// What went over the link since it was made.
    public var traffic: LinkTraffic { counters.withLock { $0 } }

    /// The address dialled, for messages.
    public var address: String {
        let port = host.port(default: settings.port)
        return host.address.contains(":") ? "[\(host.address)]:\(port)" : "\(host.address):\(port)"
    }

    /// Starts connecting.
    public func start() {
        eventLoop.execute { self.perform(self.machine.start()) }
    }

    /// Tries again now: resets the attempt count of a link in backoff or given up
    /// (SIGUSR1, `ctl reconnect`, or an inbound link from this peer).
    public func retry() {
        eventLoop.execute {
            let action = self.machine.retry()
            if action != .none { self.logger.info("retrying link now", metadata: ["address": "\(self.address)"]) }
            self.perform(action)
        }
    }

    /// Closes the link for good, failing anything in flight with `con_lost`.
    public func shutdown() async {
        let closed = eventLoop.makePromise(of: Void.self)
        eventLoop.execute {
            let channel = self.channel
            self.perform(self.machine.shutdown())
            if let channel {
                channel.closeFuture.whenComplete { _ in closed.succeed() }
            } else {
                closed.succeed()
            }
        }
        try? await closed.futureResult.get()
    }

    // MARK: - Requests

    /// Sends `line` on an up link (the request methods are in PeerLink+Requests.swift);
    /// its reply goes to `sink`. `flush`: when the write goes out (`.byCaller`:
    /// the caller flushes once its batch is written; `.endOfTick`: whatever else
    /// this tick writes goes with it, at the cost of a task).
    func send(_ line: String, sink: ReplySink, flush: Flush = .endOfTick) {
        guard machine.upConnection != nil, let requests else {
            counters.withLock {
                $0.requestsTotal += 1
                $0.failuresTotal += 1
            }
            return sink.deliver(WireReply.connectionLost)
        }
        counters.withLock { $0.requestsTotal += 1 }
        // By byte: "\r\n" is one Character, equal neither to "\r" nor to "\n", and would end the line on the wire.
        if line.utf8.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            return sink.deliver(WireProtocol.lineContainsNewline)
        }
        // The agent would answer error:line_too_long and close: refuse it here and keep the link.
        // With request ids the line goes out behind its `#<id> ` tag, which must fit too.
        if line.utf8.count + (requests.tagsRequests ? WireRequestID.longestPrefix : 0) > settings.maxLine {
            return sink.deliver(WireProtocol.lineTooLong)
        }
        requests.enqueue(line, sink: sink)
        if flush == .endOfTick { scheduleFlush() }
    }

    /// When a request's write is flushed (`send`).
    enum Flush { case byCaller, endOfTick }

    /// One flush per event-loop tick however many requests were written in it:
    /// they go out as one write, and TLS encrypts the whole burst into one record.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.execute {
            self.flushScheduled = false
            self.requests?.flush()
        }
    }

    // MARK: - Events from the connection (on the event loop)

    func connected(_ channel: any Channel, connection: Int) {
        switch machine.connected(connection) {
        case .publishHandshaking:
            self.channel = channel
            requests = try? channel.pipeline.syncOperations.handler(type: RequestMatcher.self)
            publish()
        default:
            // Given up on (deadline, retry, shutdown) while it was connecting.
            channel.close(promise: nil)
        }
    }

    func transportEstablished(_ established: TransportEstablished, connection: Int) {
        guard machine.transportEstablished(connection, protocolVersion: established.protocolVersion, cipher: established.cipher) == .recordTransport else {
            return
        }
        publish()
    }

    func handshakeCompleted(peerVersion: String, requestIDs: Bool, connection: Int) {
        perform(machine.handshakeCompleted(connection, peerVersion: peerVersion, requestIDs: requestIDs))
    }

    func failed(_ reason: LinkFailure, connection: Int) {
        perform(machine.failed(connection, reason, jitter: Double.random(in: 0.5...1)))
    }

    // MARK: - Actions

    /// Carries out what the machine decided, then publishes the status it now derives.
    private func perform(_ action: StateMachine.Action) {
        eventLoop.assertInEventLoop()
        defer { publish() }
        switch action {
        case .none, .recordTransport, .publishHandshaking, .closeStray:
            // Performed by the event handlers above, which hold the channel or the transport.
            break
        case .connect(let connection, let deadline):
            // A backoff timer still pending (a retry) finds the link moved on: not cancelled, see `attempt`.
            timer = nil
            guard let pacer else { return attempt(connection, deadline: deadline) }
            // The deadline starts when the turn comes, not while waiting for it.
            pacer.admit { self.eventLoop.execute { self.attempt(connection, deadline: deadline, paced: true) } }
        case .becomeUp(let peerVersion):
            setupDeadline = nil
            releaseConnectSlot()
            logger.info("link up", metadata: ["address": "\(address)", "peer_version": "\(peerVersion)"])
        case .reset(let reset):
            closeConnection()
            backOff(reset)
        case .stop:
            closeConnection()
        }
    }

    /// Cancels the timers, gives back the pacer's slot and closes the channel
    /// (its requests get `con_lost`): for a reset and for the stop alike.
    private func closeConnection() {
        timer?.cancel()
        timer = nil
        setupDeadline?.cancel()
        setupDeadline = nil
        releaseConnectSlot()
        channel?.close(promise: nil)
        channel = nil
        requests = nil
    }

    /// Dials `connection` within `deadline`, unless the link moved on (a
    /// retry, a shutdown) while the attempt waited for the pacer.
    private func attempt(_ connection: Int, deadline: Duration, paced: Bool = false) {
        guard case .connecting(let current) = machine.state, current.connection == connection else {
            if paced { pacer?.release() }
            return
        }
        holdsConnectSlot = paced
        // Left to fire when the link is up rather than cancelled (NIO cancels by a
        // linear search of its timer heap: O(links) per link at a cold start).
        setupDeadline = eventLoop.scheduleTask(in: TimeAmount(deadline)) {
            guard self.machine.upConnection != connection else { return }
            self.failed(.setupTooSlow(connectTimeout: self.settings.connectTimeout), connection: connection)
        }
        connect(connection)
    }

    private func releaseConnectSlot() {
        guard holdsConnectSlot else { return }
        holdsConnectSlot = false
        pacer?.release()
    }

    private func backOff(_ reset: StateMachine.Reset) {
        let reason = reset.reason.description
        switch reset.next {
        case .giveUp:
            logger.warning(
                "link given up; waiting for SIGUSR1, ctl reconnect or an inbound link", metadata: ["reason": "\(reason)", "failures": "\(reset.failures)"])
        case .retry(let delay):
            if reset.wasUp {
                logger.warning("link lost", metadata: ["reason": "\(reason)", "retry_in": "\(delay)"])
            } else {
                logger.info("link attempt failed", metadata: ["reason": "\(reason)", "attempt": "\(reset.failures)", "retry_in": "\(delay)"])
            }
            guard case .backoff(let backoff) = machine.state else { return }
            timer = eventLoop.scheduleTask(in: TimeAmount(delay)) {
                self.perform(self.machine.backoffTimerFired(after: backoff.after))
            }
        }
    }

    // MARK: - Status

    func recordReply(rttMilliseconds sample: Double) {
        counters.withLock { $0.rttMilliseconds = $0.rttMilliseconds.map { $0 * 0.8 + sample * 0.2 } ?? sample }
    }

    func recordLost(_ callers: Int) {
        counters.withLock { $0.failuresTotal += callers }
    }

    func recordStrayReply(_ why: String) {
        counters.withLock { $0.strayRepliesTotal += 1 }
        logger.notice("dropped a reply that matches no request", metadata: ["address": "\(address)", "reply": "\(why)"])
    }

    /// Derives the status from the machine; when it differs from the one
    /// published, publishes it and tells the listeners (on the loop, in order).
    /// `since` moves only when the state does.
    private func publish() {
        let (old, new): (LinkStatus, LinkStatus?) = published.withLock { status in
            let old = status
            guard let new = machine.status(peerID: peerID, since: machine.linkState == old.state ? old.since : Date()), new != old else { return (old, nil) }
            status = new
            return (old, new)
        }
        guard let new else { return }
        let change = LinkChange(status: new, cameUp: new.state == .up && old.state != .up)
        for listener in listeners { listener.linkChanged(change) }
    }
}

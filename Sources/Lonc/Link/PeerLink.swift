import Foundation
import Logging
import NIOCore
import NIOPosix

/// One persistent link to one peer's agent (the seed's lonc child):
///
///     connecting ─▶ handshaking ─▶ up ──(error, timeout, close)──▶ backoff ─▶ connecting …
///                                        max_attempts failures in a row ─▶ given_up ─(retry)─▶ connecting
///
/// Requests are pipelined up to `pipelineDepth` and answered in order. A
/// request unanswered within `requestTimeout`, or a dropped connection, fails
/// every request in flight with `con_lost` and restarts the link, so a late
/// reply can never be matched to the wrong request.
///
/// All mutable state below `loop-confined` is touched only on `eventLoop`;
/// the status is a value behind a lock, readable from any thread.
public final class PeerLink: PeerRequesting, @unchecked Sendable {
    /// The peer, as the hosts table describes it.
    public let host: HostEntry
    /// The peer's id.
    public var peerID: String { host.id }
    /// The settings in force.
    public let settings: LinkSettings
    private let transport: any TransportSecurity
    /// The event loop this link lives on.
    public let eventLoop: any EventLoop
    private let logger: Logger
    private let statusBox: Locked<LinkStatus>
    private let observers = Locked<[@Sendable (LinkStatus) -> Void]>([])

    // loop-confined
    private enum Phase { case idle, connecting, handshaking(HandshakeStep), up, backoff, givenUp, stopped }
    private enum HandshakeStep { case awaitingChallenge, awaitingEchoOK, awaitingSethostOK, awaitingVersion }
    private struct Pending {
        var line: String
        var promise: EventLoopPromise<String>?
        var sentAt: NIODeadline
        var deadline: NIODeadline
    }
    private var phase = Phase.idle
    private var channel: (any Channel)?
    private var connection = 0
    private var inFlight = CircularBuffer<Pending>()
    private var waiting = CircularBuffer<Pending>()
    private var attempts = 0
    private var reconnect: Scheduled<Void>?
    private var handshakeDeadline: Scheduled<Void>?
    private var sweep: RepeatedTask?
    private var lastActivity = NIODeadline.now()
    private var flushScheduled = false
    private var rtt: Double?
    private var requestsTotal = 0
    private var failuresTotal = 0

    /// Creates a link; it does nothing until `start()`.
    public init(host: HostEntry, settings: LinkSettings, transport: any TransportSecurity, eventLoop: any EventLoop, logger: Logger) {
        self.host = host
        self.settings = settings
        self.transport = transport
        self.eventLoop = eventLoop
        var logger = logger
        logger[metadataKey: "peer"] = "\(host.id)"
        self.logger = logger
        self.statusBox = Locked(LinkStatus(peerID: host.id))
    }

    /// The link's current status.
    public var status: LinkStatus { statusBox.withLock { $0 } }

    /// Calls `observer` with every new status (state changes, counters, RTT).
    public func observe(_ observer: @escaping @Sendable (LinkStatus) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// The address dialled, for messages.
    public var address: String {
        let port = host.port(default: settings.port)
        return host.address.contains(":") ? "[\(host.address)]:\(port)" : "\(host.address):\(port)"
    }

    /// Starts connecting.
    public func start() {
        eventLoop.execute { if case .idle = self.phase { self.connect() } }
    }

    /// Tries again now: resets the attempt count of a link in backoff or given up
    /// (SIGUSR1, `ctl reconnect`, or an inbound link from this peer).
    public func retry() {
        eventLoop.execute {
            switch self.phase {
            case .backoff, .givenUp:
                self.reconnect?.cancel()
                self.attempts = 0
                self.logger.info("retrying link now", metadata: ["address": "\(self.address)"])
                self.connect()
            case .idle, .connecting, .handshaking, .up, .stopped:
                break
            }
        }
    }

    /// Closes the link for good, failing anything in flight with `con_lost`.
    public func shutdown() async {
        let promise = eventLoop.makePromise(of: Void.self)
        eventLoop.execute {
            self.phase = .stopped
            self.reconnect?.cancel()
            self.handshakeDeadline?.cancel()
            self.sweep?.cancel()
            self.failAll()
            let channel = self.channel
            self.channel = nil
            self.connection += 1
            if let channel {
                channel.close().whenComplete { _ in promise.succeed() }
            } else {
                promise.succeed()
            }
        }
        try? await promise.futureResult.get()
    }

    /// Sets the number of delayed messages shown in the status (the relay's queue depth).
    public func setDelayedCount(_ count: Int) {
        updateStatus { $0.delayed = count }
    }

    // MARK: - Requests

    /// Sends one request line and returns the reply, or `con_lost`.
    public func request(_ line: String) async -> String {
        let promise = eventLoop.makePromise(of: String.self)
        eventLoop.execute { self.enqueue(line, promise: promise) }
        return (try? await promise.futureResult.get()) ?? WireReply.connectionLost
    }

    private func enqueue(_ line: String, promise: EventLoopPromise<String>?) {
        guard case .up = phase else {
            if promise != nil {
                failuresTotal += 1
                requestsTotal += 1
                publishCounters()
            }
            promise?.succeed(WireReply.connectionLost)
            return
        }
        if promise != nil { requestsTotal += 1 }
        if line.contains(where: { $0 == "\n" || $0 == "\r" }) {
            promise?.succeed("error:line_contains_newline")
            return
        }
        // The agent would answer error:line_too_long and close: refuse it here and keep the link.
        if line.utf8.count > settings.maxLine {
            promise?.succeed(WireProtocol.lineTooLong)
            return
        }
        let now = NIODeadline.now()
        let pending = Pending(line: line, promise: promise, sentAt: now, deadline: now + TimeAmount(settings.requestTimeout))
        if inFlight.count < settings.pipelineDepth {
            send(pending)
        } else {
            waiting.append(pending)
        }
    }

    private func send(_ pending: Pending) {
        guard let channel else { return }
        var pending = pending
        pending.sentAt = .now()
        pending.deadline = pending.sentAt + TimeAmount(settings.requestTimeout)
        inFlight.append(pending)
        channel.write(pending.line, promise: nil)
        scheduleFlush()
    }

    /// One flush per event-loop tick however many requests were written in it.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.execute {
            self.flushScheduled = false
            self.channel?.flush()
        }
    }

    // MARK: - Connection life

    private func connect() {
        reconnect = nil
        connection += 1
        let connection = self.connection
        phase = .connecting
        updateStatus { $0.state = .connecting; $0.since = Date() }
        let transport = transport
        let hostname = host.hostname
        let maxLine = settings.maxLine
        handshakeDeadline = eventLoop.scheduleTask(in: TimeAmount(settings.connectTimeout) * 2) {
            self.connectionEnded("the connection and handshake did not finish within \(self.settings.connectTimeout)", connection: connection)
        }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(settings.connectTimeout))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandlers(try transport.clientHandlers(serverHostname: hostname))
                    try sync.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: maxLine)))
                    try sync.addHandler(MessageToByteHandler(LineEncoder()))
                    try sync.addHandler(PeerLinkHandler(link: self, connection: connection))
                }
            }
            .connect(host: host.address, port: host.port(default: settings.port))
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard connection == self.connection, case .connecting = self.phase else {
                        channel.close(promise: nil)
                        return
                    }
                    self.channel = channel
                    self.phase = .handshaking(.awaitingChallenge)
                    self.updateStatus { $0.state = .handshaking; $0.since = Date() }
                case .failure(let error):
                    self.connectionEnded("connect to \(self.address): \(Self.describe(error))", connection: connection)
                }
            }
    }

    func transportEstablished(_ established: TransportEstablished, connection: Int) {
        eventLoop.assertInEventLoop()
        guard connection == self.connection, let channel else { return }
        updateStatus {
            $0.tlsVersion = established.protocolVersion
            $0.tlsCipher = established.cipher
        }
        phase = .handshaking(.awaitingChallenge)
        channel.writeAndFlush(WireProtocol.initCommand, promise: nil)
    }

    func received(_ line: String, connection: Int) {
        eventLoop.assertInEventLoop()
        guard connection == self.connection else { return }
        lastActivity = .now()
        switch phase {
        case .handshaking(let step):
            handshake(step, reply: line)
        case .up:
            guard var head = inFlight.popFirst() else {
                connectionEnded("the peer sent '\(line.prefix(40))' with no request outstanding", connection: connection)
                return
            }
            let sample = Double((NIODeadline.now() - head.sentAt).nanoseconds) / 1e6
            rtt = rtt.map { $0 * 0.8 + sample * 0.2 } ?? sample
            // Counters first, so a caller that reads the status after its reply sees them.
            publishCounters()
            head.promise?.succeed(line)
            head.promise = nil
            while inFlight.count < settings.pipelineDepth, let next = waiting.popFirst() { send(next) }
        case .idle, .connecting, .backoff, .givenUp, .stopped:
            break
        }
    }

    private func handshake(_ step: HandshakeStep, reply: String) {
        guard let channel else { return }
        switch step {
        case .awaitingChallenge:
            guard reply.count == 32, reply.allSatisfy(\.isHexDigit) else {
                return connectionEnded("handshake: expected a 32-character challenge after init, got '\(reply.prefix(40))'", connection: connection)
            }
            phase = .handshaking(.awaitingEchoOK)
            channel.writeAndFlush(reply, promise: nil)
        case .awaitingEchoOK:
            guard reply == WireProtocol.ok else {
                return connectionEnded("handshake: the agent answered '\(reply.prefix(40))' to the challenge echo", connection: connection)
            }
            phase = .handshaking(.awaitingSethostOK)
            channel.writeAndFlush(WireProtocol.sethostPrefix + host.id, promise: nil)
        case .awaitingSethostOK:
            guard reply == WireProtocol.ok else {
                return connectionEnded("handshake: the agent at \(address) is not '\(host.id)' (it answered '\(reply.prefix(40))' to sethost)", connection: connection)
            }
            phase = .handshaking(.awaitingVersion)
            channel.writeAndFlush(WireProtocol.versionPrefix + WireProtocol.version, promise: nil)
        case .awaitingVersion:
            guard reply.hasPrefix(WireProtocol.versionPrefix) else {
                return connectionEnded("handshake: expected version:<v>, got '\(reply.prefix(40))'", connection: connection)
            }
            becameUp(peerVersion: String(reply.dropFirst(WireProtocol.versionPrefix.count)))
        }
    }

    private func becameUp(peerVersion: String) {
        handshakeDeadline?.cancel()
        handshakeDeadline = nil
        phase = .up
        attempts = 0
        lastActivity = .now()
        let sweepEvery = TimeAmount.milliseconds(Int64(max(5, min(1000, min(settings.requestTimeout, settings.keepalive).millisecondsValue / 4))))
        sweep?.cancel()
        let connection = self.connection
        sweep = eventLoop.scheduleRepeatedTask(initialDelay: sweepEvery, delay: sweepEvery) { _ in self.sweepTimers(connection: connection) }
        logger.info("link up", metadata: ["address": "\(address)", "peer_version": "\(peerVersion)"])
        updateStatus {
            $0.state = .up
            $0.since = Date()
            $0.attempts = 0
            // lastError stays: "what went wrong last" is what an operator asks after a flap.
            $0.peerVersion = peerVersion
        }
    }

    /// Request timeouts and keepalive pings.
    private func sweepTimers(connection: Int) {
        guard connection == self.connection, case .up = phase else { return }
        let now = NIODeadline.now()
        if let head = inFlight.first, head.deadline <= now {
            return connectionEnded("a request got no reply within \(settings.requestTimeout): link reset", connection: connection)
        }
        if inFlight.isEmpty, now - lastActivity >= TimeAmount(settings.keepalive) {
            lastActivity = now
            enqueue(WireProtocol.ping, promise: nil)
        }
    }

    /// The connection failed or closed: fail what is in flight, then back off or give up.
    func connectionEnded(_ reason: String, connection: Int) {
        eventLoop.assertInEventLoop()
        guard connection == self.connection else { return }
        switch phase {
        case .stopped, .backoff, .givenUp, .idle: return
        case .connecting, .handshaking, .up: break
        }
        let wasUp: Bool
        if case .up = phase { wasUp = true } else { wasUp = false }
        self.connection += 1
        handshakeDeadline?.cancel()
        handshakeDeadline = nil
        sweep?.cancel()
        sweep = nil
        channel?.close(promise: nil)
        channel = nil
        failAll()
        attempts += 1
        if attempts >= settings.maxAttempts {
            phase = .givenUp
            logger.warning("link given up after \(attempts) failures in a row; waiting for SIGUSR1, ctl reconnect or an inbound link", metadata: ["reason": "\(reason)"])
            updateStatus { $0.state = .givenUp; $0.since = Date(); $0.attempts = self.attempts; $0.lastError = reason }
            return
        }
        phase = .backoff
        let delay = settings.backoff(afterFailures: attempts, jitter: Double.random(in: 0.5...1))
        if wasUp {
            logger.warning("link lost", metadata: ["reason": "\(reason)", "retry_in": "\(delay)"])
        } else {
            logger.info("link attempt failed", metadata: ["reason": "\(reason)", "attempt": "\(attempts)", "retry_in": "\(delay)"])
        }
        updateStatus { $0.state = .backoff; $0.since = Date(); $0.attempts = self.attempts; $0.lastError = reason }
        reconnect = eventLoop.scheduleTask(in: TimeAmount(delay)) {
            if case .backoff = self.phase { self.connect() }
        }
    }

    private func failAll() {
        var failed = 0
        while let pending = inFlight.popFirst() {
            if let promise = pending.promise { promise.succeed(WireReply.connectionLost); failed += 1 }
        }
        while let pending = waiting.popFirst() {
            if let promise = pending.promise { promise.succeed(WireReply.connectionLost); failed += 1 }
        }
        failuresTotal += failed
        publishCounters()
    }

    // MARK: - Status

    private func publishCounters() {
        let (requests, failures, rtt) = (requestsTotal, failuresTotal, rtt)
        updateStatus {
            $0.requestsTotal = requests
            $0.failuresTotal = failures
            $0.rttMilliseconds = rtt
        }
    }

    private func updateStatus(_ change: (inout LinkStatus) -> Void) {
        let (old, new) = statusBox.withLock { status in
            let old = status
            change(&status)
            return (old, status)
        }
        // Counters change per request; tell observers only about what they show.
        if old.state != new.state || old.lastError != new.lastError || old.delayed != new.delayed || old.attempts != new.attempts {
            for observer in observers.withLock({ $0 }) { observer(new) }
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        if error is ChannelError, case .connectTimeout = error as? ChannelError { return "connect timed out" }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return describe(first.error)
        }
        return "\(error)"
    }
}

import COpenSSL
import CShims
import NIOCore

/// Drives one OpenSSL connection from a channel pipeline through memory BIOs,
/// the way NIOSSL's handler drives BoringSSL:
///
///     socket bytes ──channelRead──▶ [rbio] ──SSL_read──▶ plaintext ──fireChannelRead──▶
///     ◀──context.write── [wbio] ◀──SSL_write── plaintext ◀──write──
///
/// Writes wait until the handshake ends; then `TransportEstablished` goes up
/// the pipeline. Decrypted data is passed on in chunks of at most 16 KiB, and
/// the socket is read only when the pipeline asks (`read()`), so a peer cannot
/// make us buffer without bound. Plaintext written between two flushes is
/// encrypted at the flush in one `SSL_write` (one record for many lines).
/// Closing sends what was written, then close_notify.
final class OpenSSLHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case idle, handshaking, established, closing, closed }

    private let connection: SSLConnection
    private let isClient: Bool
    private var state = State.idle
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    /// Plaintext written since the last flush: encrypted at the flush with one
    /// `SSL_write`, so 64 pipelined lines become one TLS record, not 64.
    private var unflushed: ByteBuffer?
    private var unflushedPromises: [EventLoopPromise<Void>] = []
    private var closePromise: EventLoopPromise<Void>?

    init(context: SSLContextHandle, serverHostname: String?) throws(TLSError) {
        connection = try SSLConnection(context: context, serverHostname: serverHostname)
        isClient = !context.isServer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startHandshake(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        startHandshake(context: context)
    }

    private func startHandshake(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        state = .handshaking
        if isClient { advanceHandshake(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        connection.consumeCiphertext(&buffer)
        switch state {
        case .handshaking: advanceHandshake(context: context)
        case .established, .closing: readPlaintext(context: context)
        case .idle, .closed: break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let wasHandshaking = state == .handshaking
        state = .closed
        failPendingWrites(TLSError.closedDuringHandshake)
        failUnflushed(ChannelError.ioOnClosedChannel)
        closePromise?.succeed()
        closePromise = nil
        if wasHandshaking { context.fireErrorCaught(TLSError.closedDuringHandshake) }
        context.fireChannelInactive()
    }

    // MARK: - Handshake

    private func advanceHandshake(context: ChannelHandlerContext) {
        let result = connection.doHandshake()
        flushCiphertext(context: context)
        switch result {
        case .complete:
            state = .established
            context.fireUserInboundEventTriggered(connection.establishedEvent())
            let writes = pendingWrites
            pendingWrites = []
            for (buffer, promise) in writes { writePlaintext(context: context, buffer, promise: promise) }
            context.flush()
            // Data may have arrived with the last handshake flight.
            readPlaintext(context: context)
        case .wantsMore:
            break
        case .failed(let error):
            state = .closed
            failPendingWrites(error)
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }

    // MARK: - Reading

    private func readPlaintext(context: ChannelHandlerContext) {
        var delivered = false
        while true {
            var buffer = context.channel.allocator.buffer(capacity: 16384)
            switch connection.read(into: &buffer, maximum: 16384) {
            case .data:
                context.fireChannelRead(wrapInboundOut(buffer))
                delivered = true
            case .wantsMore:
                flushCiphertext(context: context)
                if delivered { context.fireChannelReadComplete() }
                return
            case .closedByPeer:
                if delivered { context.fireChannelReadComplete() }
                // close_notify: answer it and close.
                state = .closing
                connection.shutdown()
                flushCiphertext(context: context)
                context.close(promise: nil)
                return
            case .failed(let error):
                if delivered { context.fireChannelReadComplete() }
                context.fireErrorCaught(error)
                context.close(promise: nil)
                return
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Plaintext read completion is fired by readPlaintext; swallow the ciphertext one.
        flushCiphertext(context: context)
    }

    // MARK: - Writing

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        switch state {
        case .idle, .handshaking:
            pendingWrites.append((buffer, promise))
        case .established:
            var buffer = buffer
            if unflushed == nil {
                unflushed = buffer
            } else {
                unflushed?.writeBuffer(&buffer)
            }
            if let promise { unflushedPromises.append(promise) }
        case .closing, .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    /// Encrypts what was written since the last flush, as one record stream.
    private func encryptUnflushed(context: ChannelHandlerContext) {
        guard let buffer = unflushed else { return }
        unflushed = nil
        let promises = unflushedPromises
        unflushedPromises = []
        var combined: EventLoopPromise<Void>?
        if !promises.isEmpty {
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { result in
                for waiting in promises { waiting.completeWith(result) }
            }
            combined = promise
        }
        writePlaintext(context: context, buffer, promise: combined)
    }

    private func failUnflushed(_ error: any Error) {
        unflushed = nil
        let promises = unflushedPromises
        unflushedPromises = []
        for promise in promises { promise.fail(error) }
    }

    private func writePlaintext(context: ChannelHandlerContext, _ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        if let error = connection.write(buffer) {
            promise?.fail(error)
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        let ciphertext = connection.takeCiphertext(allocator: context.channel.allocator)
        if let ciphertext {
            context.write(wrapOutboundOut(ciphertext), promise: promise)
        } else {
            promise?.succeed()
        }
    }

    func flush(context: ChannelHandlerContext) {
        if state == .established { encryptUnflushed(context: context) }
        flushCiphertext(context: context)
    }

    private func flushCiphertext(context: ChannelHandlerContext) {
        if let ciphertext = connection.takeCiphertext(allocator: context.channel.allocator) {
            context.write(wrapOutboundOut(ciphertext), promise: nil)
        }
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, state == .established else {
            failUnflushed(ChannelError.ioOnClosedChannel)
            state = .closed
            context.close(mode: mode, promise: promise)
            return
        }
        // What was written goes out first, then close_notify; the socket closes without waiting for the peer's.
        encryptUnflushed(context: context)
        state = .closing
        connection.shutdown()
        if let ciphertext = connection.takeCiphertext(allocator: context.channel.allocator) {
            context.writeAndFlush(wrapOutboundOut(ciphertext)).whenComplete { [channel = context.channel] _ in
                channel.close(mode: .all, promise: nil)
            }
            promise.map { context.channel.closeFuture.cascade(to: $0) }
        } else {
            context.close(mode: mode, promise: promise)
        }
    }

    private func failPendingWrites(_ error: any Error) {
        let writes = pendingWrites
        pendingWrites = []
        for (_, promise) in writes { promise?.fail(error) }
    }
}

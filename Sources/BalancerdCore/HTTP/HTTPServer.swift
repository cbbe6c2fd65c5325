import CMicroHTTPD
import CShims
import Foundation
import Lonc
import NIOCore

/// The HTTP endpoint: libmicrohttpd with an epoll thread pool.
///
/// libmicrohttpd calls back on its own threads. The callbacks here read the
/// raw request target, ask the `HTTPResponder` (which reads an immutable
/// snapshot or takes a tiny lock), queue the answer and return; they never
/// wait on an event loop. The answer is queued on the access handler's second
/// call for a request: queueing on the first makes libmicrohttpd close
/// keep-alive connections after every response. A plain `GET /login` (the
/// request nearly every user sends) skips the request and response values:
/// the balancer decides, and a 302 prepared once per target is queued.
public final class HTTPServer: Sendable {
    public typealias Settings = HTTPSettings

    private let context: ServerContext
    private let handle: DaemonHandle

    /// Starts serving; throws when the address cannot be bound.
    public init(settings: Settings, responder: any HTTPResponder) throws(HTTPServerError) {
        let proxies: TrustedProxies
        do {
            proxies = try TrustedProxies(parsing: settings.trustedProxies)
        } catch {
            throw .badTrustedProxy(error.description)
        }
        self.context = ServerContext(responder: responder, proxies: proxies)
        guard let address = try? SocketAddress(ipAddress: settings.listen.host, port: settings.listen.port) else {
            throw .badAddress(settings.listen.description)
        }
        DescriptorLimit.raise(toServe: settings.connectionLimit)
        let opaque = Unmanaged.passUnretained(context).toOpaque()
        let isIPv6 = address.protocol == .inet6
        let daemon = address.withSockAddr { sockaddr, _ in
            balancerd_mhd_start(
                sockaddr, isIPv6 ? 1 : 0, UInt32(clamping: max(1, settings.threads)), UInt32(clamping: settings.connectionLimit),
                UInt32(clamping: settings.perAddressLimit), UInt32(clamping: max(1, settings.connectionTimeout.components.seconds)),
                settings.connectionMemory, accessHandler, opaque, requestStarted, requestCompleted)
        }
        guard let daemon else {
            throw .cannotListen(settings.listen.description, reason: String(cString: strerror(errno)))
        }
        handle = DaemonHandle(daemon)
    }

    /// The port bound (the configured one, or the one picked for port 0).
    public var port: Int { Int(balancerd_mhd_bound_port(handle.daemon)) }

    /// Stops accepting and closes every connection.
    public func stop() { handle.stop() }
}

/// HTTP start-up failures.
public enum HTTPServerError: Error, Sendable, CustomStringConvertible {
    case badAddress(String)
    case cannotListen(String, reason: String)
    /// An `http.trusted_proxies` entry that is not an address or CIDR block (the sentence names it).
    case badTrustedProxy(String)

    public var description: String {
        switch self {
        case .badTrustedProxy(let sentence): sentence
        case .badAddress(let address): "http.listen: '\(address)' is not an IP address and port"
        case .cannotListen(let address, let reason): "http.listen: cannot listen on \(address): \(reason)"
        }
    }
}

/// Owns the libmicrohttpd daemon handle and stops it exactly once.
/// (`@unchecked`: the handle is a C pointer, and libmicrohttpd's calls on it are thread-safe.)
private final class DaemonHandle: @unchecked Sendable {
    let daemon: OpaquePointer
    private let isStopped = Locked(false)

    init(_ daemon: OpaquePointer) { self.daemon = daemon }

    /// Returns once the daemon has stopped, whoever stopped it.
    func stop() {
        isStopped.withLock { isStopped in
            guard !isStopped else { return }
            isStopped = true
            MHD_stop_daemon(daemon)
        }
    }

    deinit { stop() }
}

/// What the C callbacks reach through their `cls` pointer.
final class ServerContext: Sendable {
    let responder: any HTTPResponder
    let proxies: TrustedProxies
    /// The 302 for each target, built once and queued for every plain `/login`
    /// to it (libmicrohttpd reference-counts a response queued on many
    /// connections); rebuilt when the target's URL changes.
    private let redirects = Locked<[String: PreparedResponse]>([:])

    /// The 503 for "no target", built once: when every spare is full, every
    /// login gets it, so it costs no more per request than a redirect.
    let unavailable: PreparedResponse?

    init(responder: any HTTPResponder, proxies: TrustedProxies) {
        self.responder = responder
        self.proxies = proxies
        unavailable = PreparedResponse(Router.unavailable, location: "", setCookie: nil)
    }

    func redirect(id: String, location: String, setCookie: String?) -> PreparedResponse? {
        redirects.withLock { cache in
            if let prepared = cache[id], prepared.location == location, prepared.setCookie == setCookie { return prepared }
            let response = Router.redirect(id: id, location: location, setCookie: setCookie)
            guard let prepared = PreparedResponse(response, location: location, setCookie: setCookie) else { return nil }
            cache[id] = prepared
            return prepared
        }
    }
}

/// A libmicrohttpd response kept for reuse; destroyed (its reference dropped)
/// when the last holder lets go. (`@unchecked`: immutable, and libmicrohttpd
/// reference-counts a response queued from many threads.)
final class PreparedResponse: @unchecked Sendable {
    let pointer: OpaquePointer
    let location: String
    let setCookie: String?

    init?(_ response: HTTPResponse, location: String, setCookie: String?) {
        guard let pointer = makeResponse(response) else { return nil }
        self.pointer = pointer
        self.location = location
        self.setCookie = setCookie
    }

    deinit { MHD_destroy_response(pointer) }
}

/// A libmicrohttpd response holding a copy of `response`'s body and headers.
func makeResponse(_ response: HTTPResponse) -> OpaquePointer? {
    response.body.withUnsafeBytes { body in
        guard let pointer = MHD_create_response_from_buffer(body.count, UnsafeMutableRawPointer(mutating: body.baseAddress), .RESPMEM_MUST_COPY) else {
            return nil
        }
        for header in response.headers {
            _ = MHD_add_response_header(pointer, header.name, header.value)
        }
        return pointer
    }
}

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

    private let settings: Settings
    private let context: ServerContext
    private let handle: DaemonHandle

    /// Starts serving; throws when the address cannot be bound.
    public init(settings: Settings, responder: any HTTPResponder) throws(HTTPServerError) {
        self.settings = settings
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
                settings.connectionMemory, accessHandler, opaque, uriLogger, requestCompleted)
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
private final class ServerContext: Sendable {
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
private final class PreparedResponse: @unchecked Sendable {
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
private func makeResponse(_ response: HTTPResponse) -> OpaquePointer? {
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

/// Per request: the raw target (with its query, which the access handler no
/// longer sees) and whether the access handler has been called once.
private final class RequestState {
    let target: String
    var seen = false
    init(target: String) { self.target = target }
}

/// A request for exactly `/login` (nearly every request) keeps no
/// `RequestState`: its `*con_cls` holds one of these two small integers
/// instead (never the address of an object, which is aligned and far above
/// them), so the hot path allocates nothing and copies no target.
private enum PlainLoginMark {
    /// Before the access handler's first call.
    static let fresh = 1
    /// After it: the next call answers.
    static let seen = 2

    static func pointer(_ mark: Int) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: mark) }

    /// The mark `pointer` holds, or nil when it points to a `RequestState`.
    static func mark(of pointer: UnsafeMutableRawPointer) -> Int? {
        let value = Int(bitPattern: pointer)
        return value == fresh || value == seen ? value : nil
    }
}

// MARK: - The C callbacks (global functions: they convert to @convention(c))

private func uriLogger(_ cls: UnsafeMutableRawPointer?, _ uri: UnsafePointer<CChar>?, _ connection: OpaquePointer?) -> UnsafeMutableRawPointer? {
    if let uri, strcmp(uri, "/login") == 0 { return PlainLoginMark.pointer(PlainLoginMark.fresh) }
    let target = uri.map { String(cString: $0) } ?? "/"
    return Unmanaged.passRetained(RequestState(target: target)).toOpaque()
}

private func requestCompleted(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ state: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    _ reason: MHD_RequestTerminationCode
) {
    guard let state, let pointer = state.pointee else { return }
    if PlainLoginMark.mark(of: pointer) == nil { Unmanaged<RequestState>.fromOpaque(pointer).release() }
    state.pointee = nil
}

private func accessHandler(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?, _ uploadData: UnsafePointer<CChar>?,
    _ uploadSize: UnsafeMutablePointer<Int>?, _ statePointer: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let statePointer else { return .NO }
    let state: RequestState?
    let isPlainLogin: Bool
    let isFirstCall: Bool
    if let existing = statePointer.pointee, let mark = PlainLoginMark.mark(of: existing) {
        state = nil
        isPlainLogin = true
        isFirstCall = mark == PlainLoginMark.fresh
        statePointer.pointee = PlainLoginMark.pointer(PlainLoginMark.seen)
    } else if let existing = statePointer.pointee {
        let known = Unmanaged<RequestState>.fromOpaque(existing).takeUnretainedValue()
        state = known
        isPlainLogin = false
        isFirstCall = !known.seen
        known.seen = true
    } else {
        let created = RequestState(target: url.map { String(cString: $0) } ?? "/")
        created.seen = true
        statePointer.pointee = Unmanaged.passRetained(created).toOpaque()
        state = created
        isPlainLogin = false
        isFirstCall = true
    }
    if isFirstCall {
        // A body whose length is given twice is refused before it is read (RFC 9112 § 6.3):
        // libmicrohttpd would take one of them, and a proxy in front might take the other.
        if let method, strcmp(method, "GET") != 0, headerValues(connection, named: "Content-Length").count > 1 {
            return queue(Router.conflictingLengths, on: connection)
        }
        return .YES
    }
    // A request body is never wanted: read and drop it.
    if let uploadSize, uploadSize.pointee > 0 {
        uploadSize.pointee = 0
        return .YES
    }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    let cookies = MHD_lookup_connection_value(connection, .HEADER_KIND, "Cookie").map { String(cString: $0) }
    let target = state?.target ?? "/login"
    // The fast path: plain `GET /login`, answered with a prepared redirect.
    if isPlainLogin, let method, strcmp(method, "GET") == 0, let answer = context.responder.plainLogin(cookies: cookies, client: clientKey(connection, behind: context.proxies)) {
        switch answer {
        case .redirect(let id, let location, let setCookie):
            if let prepared = context.redirect(id: id, location: location, setCookie: setCookie) {
                return MHD_queue_response(connection, 302, prepared.pointer)
            }
            return queue(Router.redirect(id: id, location: location, setCookie: setCookie), on: connection)
        case .response(let response):
            if response == Router.unavailable, let prepared = context.unavailable {
                return MHD_queue_response(connection, UInt32(response.status), prepared.pointer)
            }
            return queue(response, on: connection)
        }
    }
    let host = MHD_lookup_connection_value(connection, .HEADER_KIND, "Host").map { String(cString: $0) }
    let request = HTTPRequest(
        method: method.map { String(cString: $0) } ?? "GET", target: target, client: clientAddress(of: connection, behind: context.proxies), cookies: cookies, host: host)
    return queue(context.responder.respond(to: request), on: connection)
}

/// Who sent the request, for the booking limit: the socket's peer, read
/// into a stack buffer with no allocation (the fast path's), or behind a
/// trusted proxy the client it names (`clientAddress(of:behind:)`).
private func clientKey(_ connection: OpaquePointer, behind proxies: TrustedProxies) -> ClientKey? {
    var storage = sockaddr_storage()
    guard balancerd_mhd_client_address(connection, &storage) > 0 else { return nil }
    if proxies.isEmpty { return ClientKey(storage: storage) }
    return clientAddress(of: connection, behind: proxies).map(ClientKey.init)
}

/// Queues a one-off response (libmicrohttpd keeps its own reference until it is sent).
private func queue(_ response: HTTPResponse, on connection: OpaquePointer) -> MHD_Result {
    guard let pointer = makeResponse(response) else { return .NO }
    defer { MHD_destroy_response(pointer) }
    return MHD_queue_response(connection, UInt32(response.status), pointer)
}

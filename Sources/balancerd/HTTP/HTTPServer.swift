import CMicroHTTPD
import CShims
import Foundation

/// The HTTP endpoint: libmicrohttpd with an epoll thread pool.
///
/// libmicrohttpd calls back on its own threads. The callbacks here read the
/// raw request target, ask the `HTTPResponder` (which reads an immutable
/// snapshot or takes a tiny lock), queue the answer and return; they never
/// wait on an event loop. The answer is queued on the access handler's second
/// call for a request: queueing on the first makes libmicrohttpd close
/// keep-alive connections after every response.
final class HTTPServer: Sendable {
    struct Settings: Sendable {
        var listen: ListenAddress
        var threads: Int
        var connectionLimit: Int
        var connectionTimeout: Duration
        /// Connections from one address at once, so one greedy client cannot take them all.
        var perAddressLimit: Int
    }

    private let settings: Settings
    private let context: ServerContext
    private let handle: DaemonHandle

    /// Starts serving; throws when the address cannot be bound.
    init(settings: Settings, responder: any HTTPResponder) throws(HTTPServerError) {
        self.settings = settings
        self.context = ServerContext(responder: responder)
        guard var address = SocketAddressStorage(settings.listen) else {
            throw .badAddress(settings.listen.description)
        }
        let opaque = Unmanaged.passUnretained(context).toOpaque()
        let daemon = address.withSockaddr { sockaddr, isIPv6 in
            balancerd_mhd_start(
                sockaddr, isIPv6 ? 1 : 0, UInt32(max(1, settings.threads)), UInt32(settings.connectionLimit),
                UInt32(settings.perAddressLimit), UInt32(max(1, settings.connectionTimeout.components.seconds)),
                accessHandler, opaque, uriLogger, requestCompleted)
        }
        guard let daemon else {
            throw .cannotListen(settings.listen.description, reason: String(cString: strerror(errno)))
        }
        handle = DaemonHandle(daemon)
    }

    /// The port bound (the configured one, or the one picked for port 0).
    var port: Int { Int(balancerd_mhd_bound_port(handle.daemon)) }

    /// Stops accepting and closes every connection.
    func stop() { handle.stop() }
}

/// HTTP start-up failures.
enum HTTPServerError: Error, Sendable, CustomStringConvertible {
    case badAddress(String)
    case cannotListen(String, reason: String)

    var description: String {
        switch self {
        case .badAddress(let address): "http.listen: '\(address)' is not an IP address and port"
        case .cannotListen(let address, let reason): "http.listen: cannot listen on \(address): \(reason)"
        }
    }
}

/// Owns the libmicrohttpd daemon handle and stops it exactly once.
private final class DaemonHandle: @unchecked Sendable {
    let daemon: OpaquePointer
    private let stopped = NSLock()
    private var isStopped = false

    init(_ daemon: OpaquePointer) { self.daemon = daemon }

    func stop() {
        stopped.lock()
        defer { stopped.unlock() }
        guard !isStopped else { return }
        isStopped = true
        MHD_stop_daemon(daemon)
    }

    deinit { stop() }
}

/// What the C callbacks reach through their `cls` pointer.
private final class ServerContext: Sendable {
    let responder: any HTTPResponder
    init(responder: any HTTPResponder) { self.responder = responder }
}

/// Per request: the raw target (with its query, which the access handler no
/// longer sees) and whether the access handler has been called once.
private final class RequestState {
    let target: String
    var seen = false
    init(target: String) { self.target = target }
}

/// A socket address for `MHD_OPTION_SOCK_ADDR`.
private struct SocketAddressStorage {
    var v4 = sockaddr_in()
    var v6 = sockaddr_in6()
    let isIPv6: Bool

    init?(_ listen: ListenAddress) {
        let port = in_port_t(UInt16(listen.port).bigEndian)
        if inet_pton(AF_INET, listen.host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port
            isIPv6 = false
        } else if inet_pton(AF_INET6, listen.host, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port
            isIPv6 = true
        } else {
            return nil
        }
    }

    mutating func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, Bool) -> T) -> T {
        if isIPv6 {
            return withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, true) } }
        }
        return withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, false) } }
    }
}

// MARK: - The C callbacks (global functions: they convert to @convention(c))

private func uriLogger(_ cls: UnsafeMutableRawPointer?, _ uri: UnsafePointer<CChar>?, _ connection: OpaquePointer?) -> UnsafeMutableRawPointer? {
    let target = uri.map { String(cString: $0) } ?? "/"
    return Unmanaged.passRetained(RequestState(target: target)).toOpaque()
}

private func requestCompleted(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ state: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    _ reason: MHD_RequestTerminationCode
) {
    guard let state, let pointer = state.pointee else { return }
    Unmanaged<RequestState>.fromOpaque(pointer).release()
    state.pointee = nil
}

private func accessHandler(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?, _ uploadData: UnsafePointer<CChar>?,
    _ uploadSize: UnsafeMutablePointer<Int>?, _ statePointer: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let statePointer else { return .NO }
    let state: RequestState
    if let existing = statePointer.pointee {
        state = Unmanaged<RequestState>.fromOpaque(existing).takeUnretainedValue()
    } else {
        state = RequestState(target: url.map { String(cString: $0) } ?? "/")
        statePointer.pointee = Unmanaged.passRetained(state).toOpaque()
    }
    if !state.seen {
        state.seen = true
        return .YES
    }
    // A request body is never wanted: read and drop it.
    if let uploadSize, uploadSize.pointee > 0 {
        uploadSize.pointee = 0
        return .YES
    }
    let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
    var storage = sockaddr_storage()
    let client = balancerd_mhd_client_address(connection, &storage) > 0 ? IPAddress(storage: storage) : nil
    let request = HTTPRequest(method: method.map { String(cString: $0) } ?? "GET", target: state.target, client: client)
    let response = context.responder.respond(to: request)
    return response.body.withUnsafeBytes { body -> MHD_Result in
        guard let mhdResponse = MHD_create_response_from_buffer(body.count, UnsafeMutableRawPointer(mutating: body.baseAddress), .RESPMEM_MUST_COPY) else {
            return .NO
        }
        defer { MHD_destroy_response(mhdResponse) }
        for header in response.headers {
            _ = MHD_add_response_header(mhdResponse, header.name, header.value)
        }
        return MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    }
}

import CMicroHTTPD
import CShims
import Foundation

// libmicrohttpd's three callbacks, and what a request carries between them.
// They are global functions (they convert to @convention(c)); the server's
// `ServerContext` comes through their `cls` pointer.
//
//     requestStarted ──▶ accessHandler (1st call: headers) ──▶ accessHandler (2nd call: answer) ──▶ requestCompleted
//         slot made            slot advanced                         answer queued                   slot released

/// What `*con_cls` holds for one request, as a type: made by
/// `requestStarted`, advanced by each `accessHandler` call, released by
/// `requestCompleted`.
///
///     GET /login (exactly):  .plainLogin(answering: false) ─1st call─▶ .plainLogin(answering: true) ─2nd call─▶ 302
///     any other target:      .other(Request) (retained; its `seen` set by the 1st call)
///
/// A plain `/login`, nearly every request, allocates nothing: its two states
/// are stored as the pointer values 1 and 2 (never the address of an object,
/// which is aligned and far above them), and decoded back here only.
enum RequestSlot {
    case plainLogin(answering: Bool)
    case other(Request)

    /// One request for another target: the raw target (with its query, which
    /// the access handler no longer sees) and whether the access handler has
    /// been called once. Touched by one libmicrohttpd thread at a time.
    final class Request {
        let target: String
        var seen = false
        init(target: String) { self.target = target }
    }

    private static let fresh = 1
    private static let answering = 2

    /// The slot `*con_cls` holds; nil when it holds none yet.
    init?(_ raw: UnsafeMutableRawPointer?) {
        guard let raw else { return nil }
        switch Int(bitPattern: raw) {
        case Self.fresh: self = .plainLogin(answering: false)
        case Self.answering: self = .plainLogin(answering: true)
        default: self = .other(Unmanaged<Request>.fromOpaque(raw).takeUnretainedValue())
        }
    }

    /// The value to store in `*con_cls`. Retains `.other`'s request: store a
    /// slot once, and `release` it when the request completes.
    func stored() -> UnsafeMutableRawPointer? {
        switch self {
        case .plainLogin(let answering): UnsafeMutableRawPointer(bitPattern: answering ? Self.answering : Self.fresh)
        case .other(let request): Unmanaged.passRetained(request).toOpaque()
        }
    }

    /// Drops the reference `stored()` took.
    func release() {
        if case .other(let request) = self { Unmanaged.passUnretained(request).release() }
    }
}

/// libmicrohttpd's URI log callback (MHD_OPTION_URI_LOG_CALLBACK), used not
/// to log but to start each request: it alone sees the raw target with its
/// query, and what it returns is the request's first `*con_cls`.
func requestStarted(_ cls: UnsafeMutableRawPointer?, _ uri: UnsafePointer<CChar>?, _ connection: OpaquePointer?) -> UnsafeMutableRawPointer? {
    if let uri, strcmp(uri, "/login") == 0 { return RequestSlot.plainLogin(answering: false).stored() }
    return RequestSlot.other(RequestSlot.Request(target: uri.map { String(cString: $0) } ?? "/")).stored()
}

func requestCompleted(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ state: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    _ reason: MHD_RequestTerminationCode
) {
    guard let state else { return }
    RequestSlot(state.pointee)?.release()
    state.pointee = nil
}

func accessHandler(
    _ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?, _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?, _ uploadData: UnsafePointer<CChar>?,
    _ uploadSize: UnsafeMutablePointer<Int>?, _ statePointer: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let statePointer else { return .NO }
    let slot: RequestSlot
    if let existing = RequestSlot(statePointer.pointee) {
        slot = existing
    } else {
        // No URI callback ran (it always does in libmicrohttpd 0.9.75; kept for safety).
        slot = .other(RequestSlot.Request(target: url.map { String(cString: $0) } ?? "/"))
        statePointer.pointee = slot.stored()
    }
    let isFirstCall: Bool
    switch slot {
    case .plainLogin(let answering):
        isFirstCall = !answering
        statePointer.pointee = RequestSlot.plainLogin(answering: true).stored()
    case .other(let request):
        isFirstCall = !request.seen
        request.seen = true
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
    switch slot {
    case .plainLogin:
        // The fast path: plain `GET /login`, answered with a prepared response.
        if let method, strcmp(method, "GET") == 0,
            let answer = context.responder.plainLogin(cookies: cookies, client: clientKey(connection, behind: context.proxies))
        {
            return queue(answer, on: connection, context: context)
        }
        return respond(target: "/login", method: method, cookies: cookies, connection: connection, context: context)
    case .other(let request):
        return respond(target: request.target, method: method, cookies: cookies, connection: connection, context: context)
    }
}

/// Any request but a plain `GET /login`: through the responder.
private func respond(
    target: String, method: UnsafePointer<CChar>?, cookies: String?, connection: OpaquePointer, context: ServerContext
) -> MHD_Result {
    let host = MHD_lookup_connection_value(connection, .HEADER_KIND, "Host").map { String(cString: $0) }
    let request = HTTPRequest(
        method: method.map { String(cString: $0) } ?? "GET", target: target, client: clientAddress(of: connection, behind: context.proxies),
        cookies: cookies, host: host)
    return queue(context.responder.respond(to: request), on: connection)
}

/// A plain login's answer: the prepared 302 of its target, or the prepared 503.
private func queue(_ answer: PlainLoginAnswer, on connection: OpaquePointer, context: ServerContext) -> MHD_Result {
    switch answer {
    case .redirect(let id, let location, let setCookie):
        if let prepared = context.redirect(id: id, location: location, setCookie: setCookie) {
            return MHD_queue_response(connection, 302, prepared.pointer)
        }
        return queue(Router.redirect(id: id, location: location, setCookie: setCookie), on: connection)
    case .unavailable:
        if let prepared = context.unavailable { return MHD_queue_response(connection, UInt32(Router.unavailable.status), prepared.pointer) }
        return queue(Router.unavailable, on: connection)
    }
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

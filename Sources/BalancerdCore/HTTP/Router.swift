/// Where `/login` goes now, as the balancer decided.
public enum LoginTarget: Sendable, Equatable {
    /// Redirect to `base` (scheme, hostname from the hosts table, login path) for target `id` (`self` for local),
    /// setting the returning-user cookie when `setCookie` is given.
    case redirect(id: String, base: String, setCookie: String? = nil)
    /// No target: 503.
    case unavailable
}

/// What the HTTP routes read. The daemon implements it over its live state;
/// every call returns at once (a snapshot copy or a tiny lock).
public protocol EndpointState: Sendable {
    /// Decides one login (and books it: this is the balancer's hot path);
    /// `cookies` is the request's `Cookie` header, for the returning-user
    /// cookie; `client` who asks, for the booking limit.
    func decideLogin(cookies: String?, client: ClientKey?) -> LoginTarget
    /// `/decisions` as JSON.
    func decisionsJSON() -> [UInt8]
    /// `/health?summary` (counts and the problem peers), `/health?peer=ID`
    /// (one peer; nil when it is no peer), or `/health` whole.
    func healthJSON(query: String?) -> [UInt8]?
    /// `/status?q=…&page=…`: one page of peers, problems first.
    func statusPageHTML(query: String?) -> [UInt8]
    /// `/metrics` in Prometheus text format.
    func metricsText() -> [UInt8]
    /// True when `/login` has a target.
    var isReady: Bool { get }
    /// Counts an answered request for `/metrics`.
    func countRequest(route: Route, status: Int)
}

/// Maps requests to answers (docs/REFERENCE.md, "HTTP API"). Pure: no I/O of its own.
public struct Router: HTTPResponder {
    let state: any EndpointState
    let allow: AddressAllowList
    let assets: WebAssets
    let statusHosts: StatusHosts

    /// `statusHosts`: the `Host` names the status routes answer (IP addresses and `localhost` always).
    public init(state: any EndpointState, allow: AddressAllowList, assets: WebAssets, statusHosts: StatusHosts = StatusHosts(["localhost"])) {
        self.state = state
        self.allow = allow
        self.assets = assets
        self.statusHosts = statusHosts
    }

    /// A HEAD request gets the GET's whole response, body included: the server
    /// sends its headers, with the body's real `Content-Length`, and not the body
    /// (libmicrohttpd does this for HEAD, and refuses a Content-Length set by hand).
    public func respond(to request: HTTPRequest) -> HTTPResponse {
        let (route, response) = answer(request)
        state.countRequest(route: route, status: response.status)
        return response
    }

    public func plainLogin(cookies: String?, client: ClientKey?) -> PlainLoginAnswer? {
        switch state.decideLogin(cookies: cookies, client: client) {
        case .redirect(let id, let base, let setCookie):
            state.countRequest(route: .login, status: 302)
            return .redirect(id: id, location: LoginLocation.build(base: base, rest: "", query: nil), setCookie: setCookie)
        case .unavailable:
            state.countRequest(route: .login, status: 503)
            return .unavailable
        }
    }

    private func answer(_ request: HTTPRequest) -> (route: Route, HTTPResponse) {
        let route = Route(path: request.path, assets: assets)
        guard route != .other else { return (route, Self.notFound) }
        // The seed's login handler passes the login itself on: a POST to /login goes to the same target.
        let allowed = route == .login ? ["GET", "HEAD", "POST"] : ["GET", "HEAD"]
        guard allowed.contains(request.method) else {
            return (route, HTTPResponse(status: 405, contentType: "text/plain; charset=utf-8", text: "method not allowed\n", headers: [("Allow", allowed.joined(separator: ", "))]))
        }
        guard route.isOpen || allow.allows(request.client) else {
            return (route, HTTPResponse(status: 403, contentType: "text/plain; charset=utf-8", text: "forbidden: \(request.client.map { "\($0)" } ?? "this address") is not in http.status_allow\n"))
        }
        guard route.isOpen || statusHosts.allows(request.host) else {
            return (route, HTTPResponse(status: 403, contentType: "text/plain; charset=utf-8", text: "forbidden: this Host is not in http.status_hosts\n"))
        }
        switch route {
        case .login:
            return (route, login(rest: String(request.path.dropFirst("/login".count)), request: request))
        case .root:
            return (route, HTTPResponse(status: 302, headers: [("Location", "/status"), ("Cache-Control", "no-store")]))
        case .healthLive:
            return (route, HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8", text: "ok\n"))
        case .health:
            guard let body = state.healthJSON(query: request.query) else {
                return (route, HTTPResponse(status: 404, contentType: "text/plain; charset=utf-8", text: "no such peer in the hosts table: \(HealthView(urlQuery: request.query))\n"))
            }
            return (route, json(body))
        case .healthReady:
            let ready = state.isReady
            return (route, HTTPResponse(status: ready ? 200 : 503, contentType: "text/plain; charset=utf-8", text: ready ? "ready\n" : "no target for logins\n"))
        case .decisions:
            return (route, json(state.decisionsJSON()))
        case .metrics:
            return (route, HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), ("Cache-Control", "no-store")], body: state.metricsText()))
        case .status:
            guard request.path != "/status" else {
                return (route, HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], body: state.statusPageHTML(query: request.query)))
            }
            return (route, asset(String(request.path.dropFirst("/status/".count))))
        case .other:
            return (route, Self.notFound)
        }
    }

    /// A POST is answered 307, so the browser sends the same method and body to the target.
    private func login(rest: String, request: HTTPRequest) -> HTTPResponse {
        switch state.decideLogin(cookies: request.cookies, client: request.client.map(ClientKey.init)) {
        case .redirect(let id, let base, let setCookie):
            let location = LoginLocation.build(base: base, rest: rest, query: request.query)
            return Self.redirect(id: id, location: location, status: request.method == "POST" ? 307 : 302, setCookie: setCookie)
        case .unavailable:
            return Self.unavailable
        }
    }

    /// The 302 of docs/REFERENCE.md (307 for a POST: method and body kept).
    static func redirect(id: String, location: String, status: Int = 302, setCookie: String? = nil) -> HTTPResponse {
        var headers = [("Location", location), ("Cache-Control", "no-store"), ("X-Balancer-Target", id)]
        if let setCookie { headers.append(("Set-Cookie", setCookie)) }
        return HTTPResponse(status: status, headers: headers)
    }

    /// No target: 503, and a page saying so.
    static let unavailable = HTTPResponse(
        status: 503, contentType: "text/html; charset=utf-8",
        text: "<!doctype html><title>Service currently not available</title><h1>Service currently not available</h1><p>No server can take a new login right now. Please try again in a minute.</p>\n",
        headers: [("Retry-After", "30"), ("Cache-Control", "no-store")])

    private func json(_ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: body)
    }

    private func asset(_ name: String) -> HTTPResponse {
        guard let asset = assets.asset(named: name) else { return Self.notFound }
        return HTTPResponse(status: 200, headers: [("Content-Type", asset.contentType), ("Cache-Control", "no-cache")], body: asset.bytes)
    }

    /// A request giving its body's length twice: refused, and the connection closed.
    static let conflictingLengths = HTTPResponse(
        status: 400, contentType: "text/plain; charset=utf-8", text: "bad request: more than one Content-Length\n", headers: [("Connection", "close")])

    static let notFound = HTTPResponse(status: 404, contentType: "text/plain; charset=utf-8", text: "not found\n")
}

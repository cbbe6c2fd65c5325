/// Where `/login` goes now, as the balancer decided.
public enum LoginRoute: Sendable, Equatable {
    /// Redirect to `base` (scheme, hostname from the hosts table, login path) for target `id` (`self` for local).
    case redirect(id: String, base: String)
    /// No target: 503.
    case unavailable
}

/// What the HTTP routes read. The daemon implements it over its live state;
/// every call returns at once (a snapshot copy or a tiny lock).
public protocol EndpointState: Sendable {
    /// Decides one login (and books it: this is the balancer's hot path).
    func routeLogin() -> LoginRoute
    /// `/health` as JSON.
    func healthJSON() -> [UInt8]
    /// `/decisions` as JSON.
    func decisionsJSON() -> [UInt8]
    /// `/status`: the operator page as HTML, rendered on the server.
    func statusPageHTML() -> [UInt8]
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

    public init(state: any EndpointState, allow: AddressAllowList, assets: WebAssets) {
        self.state = state
        self.allow = allow
        self.assets = assets
    }

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        let (route, response) = answer(request)
        state.countRequest(route: route, status: response.status)
        guard request.method == "HEAD" else { return response }
        var head = response
        head.headers.append(("Content-Length", String(response.body.count)))
        head.body = []
        return head
    }

    public func plainLogin() -> PlainLoginAnswer? {
        switch state.routeLogin() {
        case .redirect(let id, let base):
            state.countRequest(route: .login, status: 302)
            return .redirect(id: id, location: LoginLocation.build(base: base, rest: "", query: nil))
        case .unavailable:
            state.countRequest(route: .login, status: 503)
            return .response(Self.unavailable)
        }
    }

    private func answer(_ request: HTTPRequest) -> (route: Route, HTTPResponse) {
        let route = Route(path: request.path, assets: assets)
        guard route != .other else { return (route, Self.notFound) }
        guard request.method == "GET" || request.method == "HEAD" else {
            return (route, HTTPResponse(status: 405, contentType: "text/plain; charset=utf-8", text: "method not allowed\n", headers: [("Allow", "GET, HEAD")]))
        }
        guard route.isOpen || allow.allows(request.client) else {
            return (route, HTTPResponse(status: 403, contentType: "text/plain; charset=utf-8", text: "forbidden: \(request.client.map { "\($0)" } ?? "this address") is not in http.status_allow\n"))
        }
        switch route {
        case .login:
            return (route, login(rest: String(request.path.dropFirst("/login".count)), query: request.query))
        case .root:
            return (route, HTTPResponse(status: 302, headers: [("Location", "/status"), ("Cache-Control", "no-store")]))
        case .healthLive:
            return (route, HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8", text: "ok\n"))
        case .health:
            return (route, json(state.healthJSON()))
        case .healthReady:
            let ready = state.isReady
            return (route, HTTPResponse(status: ready ? 200 : 503, contentType: "text/plain; charset=utf-8", text: ready ? "ready\n" : "no target for logins\n"))
        case .decisions:
            return (route, json(state.decisionsJSON()))
        case .metrics:
            return (route, HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), ("Cache-Control", "no-store")], body: state.metricsText()))
        case .status:
            guard request.path != "/status" else {
                return (route, HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], body: state.statusPageHTML()))
            }
            return (route, asset(String(request.path.dropFirst("/status/".count))))
        case .other:
            return (route, Self.notFound)
        }
    }

    private func login(rest: String, query: String?) -> HTTPResponse {
        switch state.routeLogin() {
        case .redirect(let id, let base):
            return Self.redirect(id: id, location: LoginLocation.build(base: base, rest: rest, query: query))
        case .unavailable:
            return Self.unavailable
        }
    }

    /// The 302 of docs/REFERENCE.md.
    static func redirect(id: String, location: String) -> HTTPResponse {
        HTTPResponse(status: 302, headers: [("Location", location), ("Cache-Control", "no-store"), ("X-Balancer-Target", id)])
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

    static let notFound = HTTPResponse(status: 404, contentType: "text/plain; charset=utf-8", text: "not found\n")
}

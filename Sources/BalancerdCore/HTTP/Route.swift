/// The endpoint's routes: what the router answers, and the `route` label of
/// `balancerd_http_requests_total`. Listed once, here (docs/REFERENCE.md, "HTTP API").
public enum Route: String, Sendable, CaseIterable {
    /// `/login` and everything under it: the 302 to a spare (open to all).
    case login = "/login"
    /// Redirects to `/status`.
    case root = "/"
    case health = "/health"
    /// Liveness: always 200 (open to all).
    case healthLive = "/health/live"
    /// Readiness: 200 when `/login` has a target.
    case healthReady = "/health/ready"
    case decisions = "/decisions"
    case metrics = "/metrics"
    /// The status page and its files under `/status/`.
    case status = "/status"
    /// Anything else: 404.
    case other

    /// The route of a request path; `/status/NAME` is a route only for the page's own files.
    init(path: String, assets: WebAssets) {
        if path == "/login" || path.hasPrefix("/login/") {
            self = .login
        } else if path.hasPrefix("/status/") {
            self = assets.has(String(path.dropFirst("/status/".count))) ? .status : .other
        } else {
            self = Route(rawValue: path).flatMap { $0 == .other ? nil : $0 } ?? .other
        }
    }

    /// Routes anyone may ask; the rest answer only addresses in `http.status_allow`.
    var isOpen: Bool { self == .login || self == .root || self == .healthLive }
}

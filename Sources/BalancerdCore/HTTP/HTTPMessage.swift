/// One HTTP request as the router sees it. Only what routing needs: `host` is
/// read only by the status routes' check against DNS rebinding, never to build
/// a URL; the other headers are deliberately absent, so nothing can build a redirect from them.
public struct HTTPRequest: Sendable, Equatable {
    /// `GET`, `HEAD`, …
    public var method: String
    /// The path, percent-encoded as received, without the query.
    public var path: String
    /// The raw query after `?`, if any.
    public var query: String?
    /// The client's address: the connection's peer, or behind a trusted proxy the
    /// address it forwarded (`TrustedProxies.client`); nil when unknown.
    public var client: IPAddress?
    /// The `Cookie` header, read only for the returning-user cookie.
    public var cookies: String?
    /// The `Host` header, read only by the status routes' check (`StatusHosts`).
    public var host: String?

    /// Splits a request target (`/login/x?y=1`) into path and query.
    public init(method: String, target: String, client: IPAddress?, cookies: String? = nil, host: String? = nil) {
        self.method = method
        if let question = target.firstIndex(of: "?") {
            path = String(target[..<question])
            query = String(target[target.index(after: question)...])
        } else {
            path = target
            query = nil
        }
        self.client = client
        self.cookies = cookies
        self.host = host
    }
}

/// One HTTP response: status, headers and body bytes.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int, contentType: String, text: String, headers: [(name: String, value: String)] = []) {
        self.init(status: status, headers: [("Content-Type", contentType)] + headers, body: Array(text.utf8))
    }

    /// The value of the first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body
            && lhs.headers.map { "\($0.name): \($0.value)" } == rhs.headers.map { "\($0.name): \($0.value)" }
    }
}

/// Answers requests; called on libmicrohttpd's threads, so it must not block.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest) -> HTTPResponse
    /// The answer to `GET /login` with nothing after it, the request nearly every
    /// user sends, decided and counted; nil when this responder has no fast path.
    /// `cookies` is the request's `Cookie` header; `client` who asks.
    func plainLogin(cookies: String?, client: ClientKey?) -> PlainLoginAnswer?
}

extension HTTPResponder {
    public func plainLogin(cookies: String?, client: ClientKey?) -> PlainLoginAnswer? { nil }
}

/// How a plain `GET /login` is answered.
public enum PlainLoginAnswer: Sendable, Equatable {
    /// 302 to `location` for target `id` (setting the returning-user cookie
    /// when `setCookie` is given): the same answer for every such request until
    /// the target or its URL changes, so the server prepares it once.
    case redirect(id: String, location: String, setCookie: String?)
    /// No target: the 503 of `Router.unavailable`, also prepared once.
    case unavailable
}

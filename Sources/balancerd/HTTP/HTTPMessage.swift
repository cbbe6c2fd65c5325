/// One HTTP request as the router sees it. Only what routing needs: the Host
/// header and the rest are deliberately absent, so nothing can build a redirect from them.
struct HTTPRequest: Sendable, Equatable {
    /// `GET`, `HEAD`, …
    var method: String
    /// The path, percent-encoded as received, without the query.
    var path: String
    /// The raw query after `?`, if any.
    var query: String?
    /// The client's address.
    var client: IPAddress?

    /// Splits a request target (`/login/x?y=1`) into path and query.
    init(method: String, target: String, client: IPAddress?) {
        self.method = method
        if let question = target.firstIndex(of: "?") {
            path = String(target[..<question])
            query = String(target[target.index(after: question)...])
        } else {
            path = target
            query = nil
        }
        self.client = client
    }
}

/// One HTTP response: status, headers and body bytes.
struct HTTPResponse: Sendable, Equatable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    init(status: Int, contentType: String, text: String, headers: [(name: String, value: String)] = []) {
        self.init(status: status, headers: [("Content-Type", contentType)] + headers, body: Array(text.utf8))
    }

    /// The value of the first header with this name (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body
            && lhs.headers.map { "\($0.name): \($0.value)" } == rhs.headers.map { "\($0.name): \($0.value)" }
    }
}

/// Answers requests; called on libmicrohttpd's threads, so it must not block.
protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest) -> HTTPResponse
    /// The answer to `GET /login` with nothing after it, the request nearly every
    /// user sends, decided and counted; nil when this responder has no fast path.
    func plainLogin() -> PlainLoginAnswer?
}

extension HTTPResponder {
    func plainLogin() -> PlainLoginAnswer? { nil }
}

/// How a plain `GET /login` is answered.
enum PlainLoginAnswer: Sendable, Equatable {
    /// 302 to `location` for target `id`: the same answer for every such
    /// request until the target or its URL changes, so the server prepares it once.
    case redirect(id: String, location: String)
    /// Any other answer (503 when there is no target).
    case response(HTTPResponse)
}

import Foundation
import Testing
import TestSupport
import BalancerdCore

@Suite("HTTP routes")
struct HTTPRouterTests {
    let state = FixedEndpointState()
    var router: Router {
        Router(state: state, allow: (try? AddressAllowList(parsing: ["127.0.0.0/8", "::1/128", "10.1.0.0/16"])) ?? AddressAllowList.empty, assets: WebAssets())
    }

    func get(_ target: String, method: String = "GET", from client: String = "127.0.0.1") -> HTTPResponse {
        router.respond(to: HTTPRequest(method: method, target: target, client: IPAddress(client)))
    }

    @Test("/login redirects with the hosts-table host, no-store and the target id")
    func login() {
        let response = get("/login")
        #expect(response.status == 302)
        #expect(response.header("Location") == "https://bistromath.lite.msu.edu/login")
        #expect(response.header("Cache-Control") == "no-store")
        #expect(response.header("X-Balancer-Target") == "msua2")
        #expect(get("/login/course/101?x=1&y=%20z").header("Location") == "https://bistromath.lite.msu.edu/login/course/101?x=1&y=%20z")
        #expect(get("/login", from: "192.0.2.1").status == 302)  // open to all
        #expect(get("/loginx").status == 404)
    }

    @Test("no target: 503 with Retry-After and a short page")
    func unavailable() {
        state.login.withLock { $0 = .unavailable }
        let response = get("/login")
        #expect(response.status == 503)
        #expect(response.header("Retry-After") == "30")
        #expect(String(decoding: response.body, as: UTF8.self).contains("currently not available"))
        #expect(get("/health/ready").status == 503)
    }

    @Test("every route answers, others 404/405")
    func routes() {
        #expect(get("/").status == 302)
        #expect(get("/").header("Location") == "/status")
        #expect(get("/health").status == 200)
        #expect(get("/health").header("Content-Type") == "application/json")
        #expect(get("/health/live").status == 200)
        #expect(get("/health/ready").status == 200)
        #expect(get("/decisions").status == 200)
        #expect(get("/metrics").status == 200)
        #expect(get("/status").status == 200)
        #expect(get("/status/app.js").status == 200)
        #expect(get("/status/../../etc/passwd").status == 404)
        #expect(get("/nothing").status == 404)
        #expect(get("/health", method: "DELETE").status == 405)
        #expect(get("/health", method: "POST").header("Allow") == "GET, HEAD")
        #expect(get("/login", method: "PUT").header("Allow") == "GET, HEAD, POST")
    }

    @Test("a login POST goes to the same target with 307; HEAD gets the GET's answer for the server to send without its body")
    func loginPostAndHead() {
        let post = get("/login/course/101?x=1", method: "POST")
        #expect(post.status == 307)
        #expect(post.header("Location") == "https://bistromath.lite.msu.edu/login/course/101?x=1")
        #expect(post.header("X-Balancer-Target") == "msua2")
        #expect(post.header("Cache-Control") == "no-store")
        for path in ["/login", "/health", "/decisions", "/metrics", "/status", "/health/ready"] {
            let head = get(path, method: "HEAD"), full = get(path)
            #expect(head == full, "HEAD \(path)")
        }
        state.login.withLock { $0 = .unavailable }
        #expect(get("/login", method: "POST").status == 503)
    }

    @Test("the login's Cookie header reaches the balancer; its Set-Cookie goes on the redirect")
    func returningCookie() {
        state.login.withLock { $0 = .redirect(id: "msua2", base: "https://bistromath.lite.msu.edu/login", setCookie: "bd=msua2; Max-Age=60; Path=/login; HttpOnly; SameSite=Lax") }
        let response = router.respond(to: HTTPRequest(method: "GET", target: "/login/x", client: IPAddress("127.0.0.1"), cookies: "a=1; bd=msua3"))
        #expect(response.header("Set-Cookie") == "bd=msua2; Max-Age=60; Path=/login; HttpOnly; SameSite=Lax")
        #expect(router.plainLogin(cookies: "bd=msua3", client: nil) == .redirect(id: "msua2", location: "https://bistromath.lite.msu.edu/login", setCookie: "bd=msua2; Max-Age=60; Path=/login; HttpOnly; SameSite=Lax"))
        #expect(state.cookies.withLock { $0 } == ["a=1; bd=msua3", "bd=msua3"])
        #expect(get("/health").header("Set-Cookie") == nil)
    }

    @Test("status routes answer 403 outside http.status_allow", arguments: ["/status", "/health", "/health/ready", "/decisions", "/metrics", "/status/app.js"])
    func forbidden(path: String) {
        #expect(get(path, from: "192.0.2.10").status == 403)
        #expect(get(path, from: "2001:db8::1").status == 403)
        #expect(get(path, from: "10.1.200.3").status == 200)
        #expect(get(path, from: "::1").status == 200)
        #expect(get(path, from: "::ffff:127.0.0.1").status == 200)  // IPv4-mapped matches IPv4 rules
        #expect(get("/health/live", from: "192.0.2.10").status == 200)
    }

    @Test("requests are counted by route and code")
    func counted() {
        _ = get("/login")
        _ = get("/nothing")
        _ = get("/metrics", from: "192.0.2.1")
        #expect(state.counted.withLock { $0 } == ["/login 302", "other 404", "/metrics 403"])
    }

    @Test("allow lists parse CIDRs and name a bad entry")
    func allowList() throws {
        let list = try AddressAllowList(parsing: ["10.0.0.0/8", "fd00::/8", "192.0.2.7"])
        #expect(list.allows(IPAddress("10.200.1.1")))
        #expect(!list.allows(IPAddress("11.0.0.1")))
        #expect(list.allows(IPAddress("fd12::1")))
        #expect(list.allows(IPAddress("192.0.2.7")))
        #expect(!list.allows(IPAddress("192.0.2.8")))
        #expect(!list.allows(nil))
        #expect(throws: AllowListError.self) { try AddressAllowList(parsing: ["10.0.0.0/40"]) }
        #expect(throws: AllowListError.self) { try AddressAllowList(parsing: ["example.com"]) }
    }
}

@Suite("the Location of a login redirect")
struct LoginLocationTests {
    static let base = "https://bistromath.lite.msu.edu/login"
    static let basePath = "/login"

    @Test("open-redirect and injection attempts keep the table's host", arguments: [
        ("//evil.example", nil as String?),
        ("/%2F%2Fevil.example", nil),
        ("/\\evil.example", nil),
        ("/@evil.example", nil),
        ("/..//evil.example", nil),
        ("", "x=\r\nLocation: https://evil.example/"),
        ("", "x=%0d%0aLocation:%20https://evil.example"),
        ("/\r\nSet-Cookie: a=b", nil),
        ("/ü/日本", "q=ü"),
        ("", "next=https://evil.example/"),
    ])
    func attempts(rest: String, query: String?) throws {
        let location = LoginLocation.build(base: Self.base, rest: rest, query: query)
        #expect(location.hasPrefix(Self.base))
        #expect(URLComponents(string: location)?.host == "bistromath.lite.msu.edu", "\(location)")
        #expect(!location.utf8.contains { $0 < 0x21 || $0 > 0x7E }, "\(location)")
        #expect(!location.contains("\\"))
    }

    @Test("random rests and queries never change the host, leak a control byte, or lose a byte")
    func fuzz() async {
        let seed = Fuzz.seed(0x5EED_0004)
        var generator = SeededGenerator(seed: seed)
        let alphabet: [UInt8] = Array(0...255)
        for iteration in 0..<Fuzz.iterations(default: 100_000) {
            // Seconds of CPU: the shared concurrency threads are given back now and then.
            if iteration % 500 == 0 { await Task.yield() }
            let rest = "/" + String(decoding: (0..<Int.random(in: 0...24, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? 0 }, as: UTF8.self)
            let query = String(decoding: (0..<Int.random(in: 0...24, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? 0 }, as: UTF8.self)
            let location = LoginLocation.build(base: Self.base, rest: rest, query: query)
            let components = URLComponents(string: location)
            // Without a '%' of its own, the rest must come back byte for byte once decoded.
            let keptRest = rest.contains("%") || components?.path == Self.basePath + rest
            guard location.hasPrefix(Self.base + "/"), !location.utf8.contains(where: { $0 < 0x21 || $0 > 0x7E }),
                components?.host == "bistromath.lite.msu.edu", keptRest
            else {
                Issue.record("seed \(seed) iteration \(iteration): bad Location \(location.debugDescription) for \(rest.debugDescription) ? \(query.debugDescription)")
                return
            }
        }
    }

    @Test("existing escapes are kept; a lone percent is escaped")
    func escapes() {
        #expect(LoginLocation.build(base: Self.base, rest: "/a%20b", query: "x=%41&y=100%") == Self.base + "/a%20b?x=%41&y=100%25")
    }
}

extension AddressAllowList {
    static let empty = AddressAllowList()
}

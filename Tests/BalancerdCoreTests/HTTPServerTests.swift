import Foundation
import Testing
import TestSupport
import BalancerdCore

@Suite("the libmicrohttpd endpoint, live on loopback")
struct HTTPServerTests {
    func start(_ state: FixedEndpointState) throws -> HTTPServer {
        let settings = HTTPServer.Settings(
            listen: ListenAddress(host: "127.0.0.1", port: 0), threads: 2, connectionLimit: 64,
            connectionTimeout: .seconds(5), perAddressLimit: 32)
        return try HTTPServer(settings: settings, responder: Router(state: state, allow: try AddressAllowList(parsing: ["127.0.0.0/8"]), assets: WebAssets()))
    }

    @Test("answers /login over a real socket; Host and X-Forwarded-Host change nothing")
    func login() throws {
        let server = try start(FixedEndpointState())
        defer { server.stop() }
        let response = try rawHTTP(port: server.port, "GET /login/x?y=1 HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Host: evil.example\r\nConnection: close\r\n\r\n")
        #expect(statusCode(of: response) == 302)
        #expect(header("Location", in: response) == "https://bistromath.lite.msu.edu/login/x?y=1")
        #expect(header("X-Balancer-Target", in: response) == "msua2")
    }

    @Test("plain GET /login: the prepared redirect follows the target and its URL, the prepared 503 is whole, and every answer is counted")
    func preparedRedirect() throws {
        let state = FixedEndpointState()
        let server = try start(state)
        defer { server.stop() }
        let plain = "GET /login HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        for _ in 0..<3 {
            let response = try rawHTTP(port: server.port, plain)
            #expect(statusCode(of: response) == 302)
            #expect(header("Location", in: response) == "https://bistromath.lite.msu.edu/login")
            #expect(header("X-Balancer-Target", in: response) == "msua2")
            #expect(header("Cache-Control", in: response) == "no-store")
        }
        state.login.withLock { $0 = .redirect(id: "msua2", base: "https://bistromath.lite.msu.edu/adm/login") }
        #expect(header("Location", in: try rawHTTP(port: server.port, plain)) == "https://bistromath.lite.msu.edu/adm/login")
        state.login.withLock { $0 = .redirect(id: "huba20", base: "https://hubs128-pc-20.cl.msu.edu/login") }
        let other = try rawHTTP(port: server.port, plain)
        #expect(header("Location", in: other) == "https://hubs128-pc-20.cl.msu.edu/login")
        #expect(header("X-Balancer-Target", in: other) == "huba20")
        state.login.withLock { $0 = .unavailable }
        // The 503 is prepared once too: the same answer, whole, every time.
        for _ in 0..<2 {
            let none = try rawHTTP(port: server.port, plain)
            #expect(statusCode(of: none) == 503)
            #expect(header("Retry-After", in: none) == "30")
            #expect(header("Cache-Control", in: none) == "no-store")
            #expect(none.hasSuffix("Please try again in a minute.</p>\n"), "\(none)")
        }
        #expect(state.counted.withLock { $0 } == Array(repeating: "/login 302", count: 5) + ["/login 503", "/login 503"])
    }

    @Test("a login POST with a body gets 307 to the same target; HEAD gets the GET's headers with the real Content-Length and no body")
    func postAndHead() throws {
        let state = FixedEndpointState()
        let server = try start(state)
        defer { server.stop() }
        let form = "uname=student&upass=secret"
        let post = try rawHTTP(port: server.port, "POST /login HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\nConnection: close\r\n\r\n\(form)")
        #expect(statusCode(of: post) == 307, "\(post)")
        #expect(header("Location", in: post) == "https://bistromath.lite.msu.edu/login")
        #expect(header("X-Balancer-Target", in: post) == "msua2")
        for path in ["/health", "/metrics", "/status", "/login"] {
            let get = try rawHTTP(port: server.port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let head = try rawHTTP(port: server.port, "HEAD \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let getBody = get.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
            #expect(statusCode(of: head) == statusCode(of: get))
            #expect(header("Content-Length", in: head) == String(getBody.utf8.count), "HEAD \(path): \(head)")
            #expect(header("Content-Length", in: get) == String(getBody.utf8.count))
            #expect(head.hasSuffix("\r\n\r\n"), "HEAD \(path) sent a body: \(head)")
        }
        #expect(state.counted.withLock { $0 }.first == "/login 307")
        // A body whose length is given twice is refused, not guessed at.
        let conflicting = try rawHTTP(port: server.port, "POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde")
        #expect(statusCode(of: conflicting) == 400, "\(conflicting)")
    }

    @Test("request headers: a 6 KB cookie is answered at the default connection_memory, refused 431 at 4 KiB")
    func connectionMemory() throws {
        let request = "GET /login HTTP/1.1\r\nHost: a\r\nCookie: session=\(String(repeating: "x", count: 6_000))\r\nConnection: close\r\n\r\n"
        for (memory, status) in [(HTTPSettings().connectionMemory, 302), (4096, 431)] {
            var settings = HTTPSettings()
            settings.listen = ListenAddress(host: "127.0.0.1", port: 0)
            settings.connectionMemory = memory
            let server = try HTTPServer(settings: settings, responder: Router(state: FixedEndpointState(), allow: .empty, assets: WebAssets()))
            defer { server.stop() }
            #expect(statusCode(of: try rawHTTP(port: server.port, request)) == status, "connection_memory \(memory)")
        }
    }

    @Test("at default settings, 1,000 connections at once from one address (a campus NAT) are all answered")
    func campusBehindOneAddress() throws {
        var settings = HTTPSettings()
        settings.listen = ListenAddress(host: "127.0.0.1", port: 0)
        let server = try HTTPServer(settings: settings, responder: Router(state: FixedEndpointState(), allow: try AddressAllowList(parsing: ["127.0.0.0/8"]), assets: WebAssets()))
        defer { server.stop() }
        // All 1,000 are open, each with its request sent, before any answer is read.
        var sockets: [Int32] = []
        defer { for socket in sockets { close(socket) } }
        for _ in 0..<1_000 {
            let socket = try connectedSocket(port: server.port)
            sockets.append(socket)
            let request = Array("GET /login HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        var answered = 0
        var failures: [String] = []
        for socket in sockets {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            let text = count > 0 ? String(decoding: chunk[..<count], as: UTF8.self) : ""
            if statusCode(of: text) == 302 { answered += 1 } else if failures.count < 3 { failures.append(count > 0 ? text : "closed (\(String(cString: strerror(errno))))") }
        }
        #expect(answered == 1_000, "only \(answered) of 1,000 answered 302; e.g. \(failures)")
    }

    @Test("an absolute-URI request line cannot choose the host")
    func absoluteURI() throws {
        let server = try start(FixedEndpointState())
        defer { server.stop() }
        let response = try rawHTTP(port: server.port, "GET http://evil.example/login HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        let location = header("Location", in: response)
        #expect(location == nil || URLComponents(string: location ?? "")?.host == "bistromath.lite.msu.edu", "\(response)")
    }

    @Test("keep-alive: two requests on one connection")
    func keepAlive() throws {
        let server = try start(FixedEndpointState())
        defer { server.stop() }
        let response = try rawHTTP(port: server.port, "GET /login HTTP/1.1\r\nHost: a\r\n\r\nGET /health/live HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(response.components(separatedBy: "HTTP/1.1 ").count - 1 == 2, "\(response)")
        #expect(response.contains("ok\n"))
    }

    @Test("keep-alive: plain logins (which keep no per-request state) and a login with a path and query take turns on one connection")
    func keepAliveLogins() throws {
        let server = try start(FixedEndpointState())
        defer { server.stop() }
        let response = try rawHTTP(
            port: server.port,
            "GET /login HTTP/1.1\r\nHost: a\r\n\r\nGET /login/x?y=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /login HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        let locations = response.components(separatedBy: "\r\n").filter { $0.lowercased().hasPrefix("location: ") }
        #expect(locations.count == 3, "\(response)")
        #expect(locations.count == 3 && locations[0] == locations[2] && locations[1].hasSuffix("/x?y=1") && !locations[0].contains("?"), "\(locations)")
    }

    @Test("malformed request lines get an error, and the server serves on")
    func malformed() async throws {
        let server = try start(FixedEndpointState())
        defer { server.stop() }
        let port = server.port
        // The socket waits run on a thread of their own, never one of the shared concurrency threads.
        for garbage in ["\r\n\r\n", "GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET /login HTTP/9.9\r\n\r\n", String(repeating: "A", count: 100_000) + "\r\n\r\n"] {
            _ = await blocking { try? rawHTTP(port: port, garbage) }
        }
        let response = try await blocking { try rawHTTP(port: port, "GET /health/live HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") }
        #expect(statusCode(of: response) == 200)
    }

    @Test("binding a port in use is an error naming the address")
    func portInUse() throws {
        let server = try start(FixedEndpointState())
        defer { server.stop() }
        let settings = HTTPServer.Settings(listen: ListenAddress(host: "127.0.0.1", port: server.port), threads: 1, connectionLimit: 4, connectionTimeout: .seconds(1), perAddressLimit: 4)
        #expect { try HTTPServer(settings: settings, responder: Router(state: FixedEndpointState(), allow: .empty, assets: WebAssets())) } throws: { error in
            "\(error)".contains("cannot listen on 127.0.0.1:\(server.port)")
        }
    }
}

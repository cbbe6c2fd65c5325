import Foundation
import Testing
import BalancerdCore

/// Who the client is behind a proxy, and which `Host` names the status routes answer.
@Suite("client address and Host check")
struct ClientAddressTests {
    static let proxies = (try? TrustedProxies(parsing: ["127.0.0.1", "10.0.0.0/8"])) ?? TrustedProxies()

    static func client(_ peer: String, _ headers: [String]) -> String? {
        proxies.client(peer: IPAddress(peer), forwardedFor: headers).map(\.description)
    }

    @Test("a trusted proxy's X-Forwarded-For is read right to left to the first hop that is no trusted proxy")
    func forwarded() {
        #expect(Self.client("127.0.0.1", ["203.0.113.7"]) == "203.0.113.7")
        // A forged first entry stays left of the one the proxy appended.
        #expect(Self.client("127.0.0.1", ["127.0.0.1, 203.0.113.7"]) == "203.0.113.7")
        // Through two trusted proxies; HAProxy's second header after the client's own.
        #expect(Self.client("127.0.0.1", ["198.51.100.1, 203.0.113.7, 10.1.2.3"]) == "203.0.113.7")
        #expect(Self.client("127.0.0.1", ["127.0.0.1", "203.0.113.7"]) == "203.0.113.7")
        // Ports and brackets as some proxies write them.
        #expect(Self.client("127.0.0.1", ["203.0.113.7:4711"]) == "203.0.113.7")
        #expect(Self.client("127.0.0.1", ["[2001:db8::7]:4711"]) == "2001:db8::7")
        #expect(Self.client("127.0.0.1", ["2001:db8::7"]) == "2001:db8::7")
        // Every hop trusted: the leftmost.
        #expect(Self.client("127.0.0.1", ["10.0.0.9, 10.0.0.8"]) == "10.0.0.9")
    }

    @Test("nothing an untrusted peer writes is read; a trusted one without the header speaks for itself; an unreadable hop is unknown")
    func untrustedAndUnknown() {
        #expect(Self.client("192.0.2.9", ["127.0.0.1"]) == "192.0.2.9")
        #expect(Self.client("127.0.0.2", ["127.0.0.1"]) == "127.0.0.2")
        #expect(Self.client("127.0.0.1", []) == "127.0.0.1")
        #expect(Self.client("127.0.0.1", ["unknown"]) == nil)
        #expect(Self.client("127.0.0.1", ["203.0.113.7, "]) == nil)
        #expect(Self.client("127.0.0.1", ["203.0.113.7:http"]) == nil)
        #expect(TrustedProxies().client(peer: IPAddress("127.0.0.1"), forwardedFor: ["203.0.113.7"])?.description == "127.0.0.1")
        #expect(throws: AllowListError.self) { try TrustedProxies(parsing: ["10.0.0.0/33"]) }
    }

    @Test("the status routes answer IP addresses, localhost and the listed names, any port and case; a rebinding name is refused")
    func statusHosts() {
        let hosts = StatusHosts(["lb1.example.edu", "Status.Example.EDU."])
        for host in ["127.0.0.1:8080", "[::1]:8080", "35.8.63.68", "localhost:8080", "lb1.localhost", "LB1.example.edu:8080", "status.example.edu.", nil, ""] {
            #expect(hosts.allows(host), "\(host ?? "no Host")")
        }
        for host in ["evil.example:8080", "lb1.example.edu.evil.example", "localhost.evil.example", "example.edu", "lb1.example.edu x"] {
            #expect(!hosts.allows(host), "\(host)")
        }
        #expect(StatusHosts(["*"]).allows("evil.example"))
        let defaults = StatusHosts.defaults(ownHostname: "Agrajag.lite.msu.edu", listenHost: "0.0.0.0")
        #expect(defaults.first == "localhost" && defaults.contains("agrajag.lite.msu.edu") && !defaults.contains("0.0.0.0"), "\(defaults)")
    }

    @Test("the router refuses a status route for a Host not listed, after the address check; /login ignores Host")
    func routerHostCheck() {
        let state = FixedEndpointState()
        let router = Router(state: state, allow: (try? AddressAllowList(parsing: ["127.0.0.0/8"])) ?? AddressAllowList(), assets: WebAssets(), statusHosts: StatusHosts(["lb1.example.edu"]))
        func get(_ target: String, host: String?, from client: String = "127.0.0.1") -> HTTPResponse {
            router.respond(to: HTTPRequest(method: "GET", target: target, client: IPAddress(client), host: host))
        }
        for path in ["/health", "/status", "/metrics", "/decisions", "/health/ready", "/status/app.js"] {
            #expect(get(path, host: "evil.example:8080").status == 403, "\(path)")
            #expect(get(path, host: "lb1.example.edu:8080").status != 403, "\(path)")
        }
        #expect(String(decoding: get("/health", host: "evil.example").body, as: UTF8.self) == "forbidden: this Host is not in http.status_hosts\n")
        #expect(String(decoding: get("/health", host: "lb1.example.edu", from: "192.0.2.1").body, as: UTF8.self).contains("http.status_allow"))
        #expect(get("/login", host: "evil.example").status == 302)
        #expect(get("/health/live", host: "evil.example").status == 200)
    }
}

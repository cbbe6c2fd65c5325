import Foundation
import Testing
import TestSupport
import Lonc

/// `serve` behind a real TLS terminator on the same host (Debian's nginx and
/// HAProxy), reached with curl from chosen loopback source addresses: the
/// client the proxy forwards is what `http.status_allow` checks, a forged
/// `X-Forwarded-For` changes nothing, and a rebinding `Host` is refused.
///
/// `http.trusted_proxies` is given through the environment, which today's main
/// ignores with a warning: there the proxy's 127.0.0.1 is every client's
/// address, and the refused client reads `/health` (issue 25).
@Suite("behind nginx and HAProxy terminating TLS", .serialized)
struct ProxyInteropTests {
    /// The allowed operator's address, and one that is not allowed; the proxy connects from 127.0.0.1.
    static let operatorAddress = "127.0.0.3"
    static let strangerAddress = "127.0.0.2"

    final class Proxy: @unchecked Sendable {
        let cluster: ProcessCluster
        let port: Int
        private var process: Process?

        init(_ kind: String, cluster: ProcessCluster) throws {
            self.cluster = cluster
            port = try freeLoopbackPort()
            let directory = cluster.directory
            let issued = try ClusterCertificateAuthority.issue(id: "proxy", hostname: "lb.localhost", caDirectory: directory, into: directory)
            let upstream = "127.0.0.1:\(cluster.httpPort)"
            let process = Process()
            switch kind {
            case "nginx":
                try FileManager.default.createDirectory(atPath: directory + "/nginx", withIntermediateDirectories: true)
                let temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map { "\($0)_temp_path \(directory)/nginx/\($0);" }.joined(separator: " ")
                try """
                    master_process off;
                    pid \(directory)/nginx/nginx.pid;
                    error_log \(directory)/nginx/error.log;
                    events { worker_connections 64; }
                    http {
                        access_log off;
                        \(temp)
                        server {
                            listen 127.0.0.1:\(port) ssl;
                            ssl_certificate \(issued.certificate);
                            ssl_certificate_key \(issued.key);
                            location / {
                                proxy_pass http://\(upstream);
                                proxy_set_header Host $http_host;
                                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                            }
                        }
                    }
                    """.write(toFile: directory + "/nginx/nginx.conf", atomically: true, encoding: .utf8)
                process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
                process.arguments = ["-p", directory + "/nginx", "-c", directory + "/nginx/nginx.conf", "-g", "daemon off;"]
            default:
                let pem = try String(contentsOfFile: issued.certificate, encoding: .utf8) + String(contentsOfFile: issued.key, encoding: .utf8)
                try pem.write(toFile: directory + "/proxy-haproxy.pem", atomically: true, encoding: .utf8)
                try """
                    global
                        maxconn 64
                    defaults
                        mode http
                        timeout connect 2s
                        timeout client 5s
                        timeout server 5s
                    frontend tls
                        bind 127.0.0.1:\(port) ssl crt \(directory)/proxy-haproxy.pem
                        default_backend balancerd
                    backend balancerd
                        option forwardfor
                        server local \(upstream)

                    """.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
                process.executableURL = URL(fileURLWithPath: "/usr/sbin/haproxy")
                process.arguments = ["-db", "-f", directory + "/haproxy.cfg"]
            }
            let log = directory + "/\(kind).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: log)
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            self.process = process
        }

        /// SIGKILL: a child of the test process may block SIGTERM (HAProxyInteropTests), and neither proxy keeps state.
        func stop() {
            if let process, process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }

        /// The status of `GET path` through the proxy from `source`, with these extra headers.
        func status(_ path: String, from source: String, headers: [String] = []) async throws -> Int? {
            try await blocking { try self.statusNow(path, from: source, headers: headers) }
        }

        /// `status` on the calling thread: inside `blocking`, never on a concurrency thread.
        func statusNow(_ path: String, from source: String, headers: [String] = []) throws -> Int? {
            try Self.curl("https://127.0.0.1:\(port)\(path)", from: source, headers: headers)
        }

        static func curl(_ url: String, from source: String, headers: [String]) throws -> Int? {
            let result = try runNow("/usr/bin/curl", ["-sk", "--max-time", "5", "--interface", source, "-o", "/dev/null", "-w", "%{http_code}"] + headers.flatMap { ["-H", $0] } + [url])
            return Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    @Test("a non-allowed client is refused through the proxy, an allowed one served, forged X-Forwarded-For ignored, a rebinding Host refused", arguments: ["nginx", "haproxy"])
    func behindProxy(kind: String) async throws {
        let cluster = try ProcessCluster(agents: ["a2"])
        defer { cluster.stopAll() }
        try cluster.setConfigLine("http:", "http: {listen: \"127.0.0.1:\(cluster.httpPort)\", status_allow: [127.0.0.1/32, \(Self.operatorAddress)/32]}")
        try cluster.startAgent("a2")
        try cluster.startServe(environment: ["BALANCERD_HTTP_TRUSTED_PROXIES": "127.0.0.1"])
        let proxy = try Proxy(kind, cluster: cluster)
        defer { proxy.stop() }
        let (served, up) = await waitFor(polling: { try? proxy.statusNow("/health/live", from: Self.operatorAddress) }, until: { $0 == 200 })
        #expect(up != nil, "\(kind) never passed /health/live on: \(served.map(String.init) ?? "no answer")\n\(cluster.log(kind))\n\(cluster.log("s1"))")

        let port = proxy.port
        #expect(try await proxy.status("/health", from: Self.operatorAddress) == 200)
        #expect(try await proxy.status("/status", from: Self.operatorAddress, headers: ["Host: lb.localhost:\(port)"]) == 200)
        #expect(try await proxy.status("/health", from: Self.strangerAddress) == 403)
        #expect(try await proxy.status("/metrics", from: Self.strangerAddress) == 403)
        // The stranger names the operator: the proxy's own hop stays to the right of it.
        #expect(try await proxy.status("/health", from: Self.strangerAddress, headers: ["X-Forwarded-For: \(Self.operatorAddress)"]) == 403)
        #expect(try await proxy.status("/health", from: Self.strangerAddress, headers: ["X-Forwarded-For: 127.0.0.1"]) == 403)
        // Straight to balancerd, not through the proxy: an untrusted peer's header is not read.
        #expect(try await blocking { try Proxy.curl("http://127.0.0.1:\(cluster.httpPort)/health", from: Self.strangerAddress, headers: ["X-Forwarded-For: \(Self.operatorAddress)"]) } == 403)
        // DNS rebinding: the operator's browser on a page whose name now points here.
        #expect(try await proxy.status("/health", from: Self.operatorAddress, headers: ["Host: rebind.example:\(port)"]) == 403)
        // Logins stay open to all, whatever the Host.
        #expect(try await proxy.status("/login", from: Self.strangerAddress, headers: ["Host: rebind.example:\(port)"]) == 302)
    }
}

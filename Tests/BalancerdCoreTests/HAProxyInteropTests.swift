import Foundation
import Testing
import TestSupport

/// Debian's real `haproxy` in front of two web servers, each with a real
/// `balancerd agent` answering HAProxy's `agent-check` (`agent.haproxy_listen`).
/// The test changes the agents' load files, drains one, and reads HAProxy's own
/// view on its stats socket: weights follow the load, a drained server gets
/// weight 0, and requests through HAProxy shift accordingly.
@Suite("HAProxy agent-check against the real haproxy", .serialized)
struct HAProxyInteropTests {
    static let transcriptPath = repositoryRoot + "/.build/haproxy-transcript.txt"

    /// One backend server as HAProxy's stats socket reports it.
    struct ServerStat: Equatable {
        var status: String
        var weight: Int
        var sessions: Int
    }

    final class Rig: @unchecked Sendable {
        let cluster: ProcessCluster
        let frontPort: Int
        var helpers: [Process] = []
        var transcript = ""

        init() throws {
            cluster = try ProcessCluster(agents: ["a2", "a3"])
            frontPort = try freeLoopbackPort()
        }

        var socketPath: String { cluster.directory + "/haproxy.sock" }

        func note(_ line: String) { transcript += line + "\n" }

        func spawn(_ executable: String, _ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            let log = cluster.directory + "/\(URL(fileURLWithPath: executable).lastPathComponent)-\(helpers.count).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            helpers.append(process)
        }

        /// SIGKILL: children of the test process inherit a mask that blocks SIGTERM
        /// (python's http.server then never exits), and neither helper keeps state.
        func stop() {
            for process in helpers where process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            cluster.stopAll()
        }

        /// A stats-socket command's answer (HAProxy closes after answering).
        func stats(_ command: String) -> String? {
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { return nil }
            defer { close(descriptor) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in socketPath.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
            }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard connected == 0 else { return nil }
            return exchange(command + "\n", on: descriptor)
        }

        /// `show stat` for the backend's servers: status, weight, total sessions.
        func servers() -> [String: ServerStat] {
            guard let csv = stats("show stat"), let header = csv.split(separator: "\n").first else { return [:] }
            let names = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard let svname = names.firstIndex(of: "svname"), let pxname = names.firstIndex(of: "pxname"),
                  let status = names.firstIndex(of: "status"), let weight = names.firstIndex(of: "weight"),
                  let stot = names.firstIndex(of: "stot") else { return [:] }
            var result: [String: ServerStat] = [:]
            for row in csv.split(separator: "\n").dropFirst() {
                let fields = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard fields.count > max(svname, status, weight, stot), fields[pxname] == "servers",
                      ["a2", "a3"].contains(fields[svname]) else { continue }
                result[fields[svname]] = ServerStat(status: fields[status], weight: Int(fields[weight]) ?? -1, sessions: Int(fields[stot]) ?? -1)
            }
            return result
        }

        /// Sends `count` requests through HAProxy; returns how many each web server answered.
        func requests(_ count: Int) -> [String: Int] {
            var answered: [String: Int] = [:]
            for _ in 0..<count {
                let response = (try? rawHTTP(port: frontPort, "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) ?? ""
                let body = response.components(separatedBy: "\r\n\r\n").dropFirst().joined().trimmingCharacters(in: .whitespacesAndNewlines)
                answered[body.isEmpty ? "(\(response.split(separator: "\r\n").first ?? "no answer"))" : body, default: 0] += 1
            }
            return answered
        }

        /// Waits until HAProxy's view of both servers matches; notes it and the requests that follow.
        func phase(_ title: String, expect: [String: (status: String, weight: Int)], requests count: Int) async -> (view: [String: ServerStat], answered: [String: Int])? {
            let (view, settled) = await waitFor(polling: { self.servers() }, until: { view in
                expect.allSatisfy { id, wanted in view[id].map { $0.status.hasPrefix(wanted.status) && $0.weight == wanted.weight } ?? false }
            })
            note("== \(title)")
            for id in ["a2", "a3"] {
                note("   agent \(id) answers: \(agentLine(id) ?? "nothing")")
            }
            guard settled != nil else {
                note("   HAProxy never showed \(expect); last view \(view)")
                return nil
            }
            let before = view
            let answered = requests(count)
            let after = servers()
            for id in ["a2", "a3"] {
                let stat = after[id] ?? ServerStat(status: "?", weight: -1, sessions: -1)
                let sessions = stat.sessions - (before[id]?.sessions ?? 0)
                note("   \(id): status \(stat.status), weight \(stat.weight); \(sessions) of \(count) requests (HAProxy stot), \(answered[id] ?? 0) answered by \(id)'s web server")
            }
            if let other = answered.first(where: { !["a2", "a3"].contains($0.key) }) { note("   other answers: \(other)") }
            note("   show servers state servers: \(serversState())")
            return (view, answered)
        }

        /// The `show servers state` lines of the backend, reduced to name, admin state and weights.
        func serversState() -> String {
            guard let text = stats("show servers state servers") else { return "no answer" }
            let lines = text.split(separator: "\n").map(String.init)
            guard let header = lines.first(where: { $0.hasPrefix("# be_id") }) else { return text }
            let names = header.dropFirst(2).split(separator: " ").map(String.init)
            let wanted = ["srv_name", "srv_op_state", "srv_admin_state", "srv_uweight", "srv_iweight"]
            let indexes = wanted.compactMap { names.firstIndex(of: $0) }
            return lines.filter { !$0.hasPrefix("#") && $0.split(separator: " ").count > 5 }.map { line in
                let fields = line.split(separator: " ").map(String.init)
                return zip(wanted, indexes).map { "\($0)=\(fields.indices.contains($1) ? fields[$1] : "?")" }.joined(separator: " ")
            }.joined(separator: " | ")
        }

        /// The line the agent gives HAProxy now.
        func agentLine(_ id: String) -> String? {
            guard let port = agentPorts[id], let line = try? rawHTTP(port: port, "") else { return nil }
            return line.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        var agentPorts: [String: Int] = [:]
    }

    @Test("weights follow load, a drained or overloaded server gets weight 0, and requests shift")
    func agentCheck() async throws {
        let rig = try Rig()
        defer {
            try? rig.transcript.write(toFile: Self.transcriptPath, atomically: true, encoding: .utf8)
            rig.stop()
        }
        let directory = rig.cluster.directory
        var webPorts: [String: Int] = [:]
        for id in ["a2", "a3"] {
            let port = try freeLoopbackPort()
            webPorts[id] = port
            rig.agentPorts[id] = try freeLoopbackPort()
            try FileManager.default.createDirectory(atPath: "\(directory)/www-\(id)", withIntermediateDirectories: true)
            try "\(id)\n".write(toFile: "\(directory)/www-\(id)/who", atomically: true, encoding: .utf8)
            try rig.spawn("/usr/bin/python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", "\(directory)/www-\(id)"])
            try rig.cluster.startAgent(id, environment: [
                "BALANCERD_AGENT_HAPROXY_LISTEN": "127.0.0.1:\(rig.agentPorts[id] ?? 0)",
                "BALANCERD_STATE_DIR": "\(directory)/state-\(id)",
            ])
        }
        for id in ["a2", "a3"] {
            let answering = await waitFor { [webPorts] in (try? rawHTTP(port: webPorts[id] ?? 0, "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))?.hasSuffix("\(id)\n") == true }
            #expect(answering != nil, "\(id)'s web server never answered")
        }
        rig.cluster.setLoad("a2", percent: 10)
        rig.cluster.setLoad("a3", percent: 60)
        let config = """
            global
                stats socket \(rig.socketPath) mode 600 level admin
            defaults
                mode http
                timeout connect 2s
                timeout client 5s
                timeout server 5s
            frontend web
                bind 127.0.0.1:\(rig.frontPort)
                default_backend servers
            backend servers
                balance roundrobin
                option httpchk GET /who
                server a2 127.0.0.1:\(webPorts["a2"] ?? 0) weight 100 check inter 1s agent-check agent-port \(rig.agentPorts["a2"] ?? 0) agent-inter 200ms
                server a3 127.0.0.1:\(webPorts["a3"] ?? 0) weight 100 check inter 1s agent-check agent-port \(rig.agentPorts["a3"] ?? 0) agent-inter 200ms

            """
        try config.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
        let check = try await run("/usr/sbin/haproxy", ["-c", "-f", directory + "/haproxy.cfg"])
        #expect(check.status == 0, "\(check.output)")
        try rig.spawn("/usr/sbin/haproxy", ["-db", "-f", directory + "/haproxy.cfg"])
        rig.note("haproxy \(try await run("/usr/sbin/haproxy", ["-v"]).output.split(separator: "\n").first ?? ""); agent-inter 200ms; both servers weight 100 with an HTTP health check in haproxy.cfg; max_load 100 %")

        // 1: a2 at 10 %, a3 at 60 %: weights 90 and 40.
        let first = await rig.phase("a2 load 10 %, a3 load 60 %", expect: ["a2": ("UP", 90), "a3": ("UP", 40)], requests: 130)
        let firstAnswers = try #require(first?.answered, "\(rig.transcript)")
        #expect((80...100).contains(firstAnswers["a2"] ?? 0) && (30...50).contains(firstAnswers["a3"] ?? 0), "\(rig.transcript)")

        // 2: the loads swap: a2 at 80 %, a3 at 20 %: weights 20 and 80.
        rig.cluster.setLoad("a2", percent: 80)
        rig.cluster.setLoad("a3", percent: 20)
        let second = await rig.phase("a2 load 80 %, a3 load 20 %", expect: ["a2": ("UP", 20), "a3": ("UP", 80)], requests: 100)
        let secondAnswers = try #require(second?.answered, "\(rig.transcript)")
        #expect((10...30).contains(secondAnswers["a2"] ?? 0) && (70...90).contains(secondAnswers["a3"] ?? 0), "\(rig.transcript)")

        // 3: a3 drained by its operator: weight 0, every request to a2.
        let drain = try await run(ProcessCluster.binary, ["self-drain", "-c", directory + "/balancerd.yaml", "kernel", "update"], environment: ["BALANCERD_STATE_DIR": "\(directory)/state-a3"])
        #expect(drain.status == 0, "\(drain.output)")
        rig.note("$ balancerd self-drain kernel update   (on a3)\n   \(drain.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        let third = await rig.phase("a3 drained (self-drain)", expect: ["a2": ("UP", 20), "a3": ("DRAIN", 0)], requests: 40)
        #expect(third?.answered == ["a2": 40], "\(rig.transcript)")

        // 4: a3 undrained, a2 past max_load (120 %): a2 drained, every request to a3.
        let undo = try await run(ProcessCluster.binary, ["self-drain", "-c", directory + "/balancerd.yaml", "--undo"], environment: ["BALANCERD_STATE_DIR": "\(directory)/state-a3"])
        #expect(undo.status == 0, "\(undo.output)")
        rig.note("$ balancerd self-drain --undo   (on a3)\n   \(undo.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        rig.cluster.setLoad("a2", percent: 120)
        let fourth = await rig.phase("a3 undrained; a2 load 120 % (above max_load)", expect: ["a2": ("DRAIN", 0), "a3": ("UP", 80)], requests: 40)
        #expect(fourth?.answered == ["a3": 40], "\(rig.transcript)")

        // 5: a2 back to 30 %: ready again at weight 70.
        rig.cluster.setLoad("a2", percent: 30)
        let fifth = await rig.phase("a2 load back to 30 %", expect: ["a2": ("UP", 70), "a3": ("UP", 80)], requests: 150)
        let fifthAnswers = try #require(fifth?.answered, "\(rig.transcript)")
        #expect((60...80).contains(fifthAnswers["a2"] ?? 0) && (70...90).contains(fifthAnswers["a3"] ?? 0), "\(rig.transcript)")
    }
}

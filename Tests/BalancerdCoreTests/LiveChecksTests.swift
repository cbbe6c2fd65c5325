import Foundation
import Testing
import TestSupport
import BalancerdCore

/// Runs a tool and returns its exit status and combined output; `environment` adds to this process's.
/// The wait runs on a thread of its own (`blocking`), never a concurrency thread.
func run(_ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
    try await blocking { try runNow(executable, arguments, input: input, environment: environment) }
}

/// `run` on the calling thread: inside `blocking`, never on a concurrency thread.
func runNow(_ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(input) }
    try? stdin.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The repository root, from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

@Suite("live responses checked by tools no one here wrote", .serialized)
struct LiveChecksTests {
    /// A running serve with two agents, one of them eligible, one down.
    func cluster() async throws -> ProcessCluster {
        let cluster = try ProcessCluster(agents: ["a2", "a3"])
        cluster.setLoad("s1", percent: 150)
        try cluster.startAgent("a2")
        try cluster.startServe()
        _ = await waitFor { cluster.peer("a2")?.eligible == true }
        for _ in 0..<5 { _ = cluster.login() }
        return cluster
    }

    func body(_ response: String?) -> String {
        response?.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n") ?? ""
    }

    @Test("promtool check metrics finds nothing in a live scrape")
    func promtool() async throws {
        let cluster = try await cluster()
        defer { cluster.stopAll() }
        let metrics = body(cluster.get("/metrics"))
        #expect(metrics.contains("balancerd_peer_up{peer=\"a2\"} 1"))
        #expect(metrics.contains("balancerd_peer_up{peer=\"a3\"} 0"))
        #expect(metrics.contains("balancerd_redirects_total{target=\"a2\"} 5"))
        #expect(metrics.contains("balancerd_http_requests_total"))
        // What dist/prometheus/balancerd.rules.yml reads.
        #expect(metrics.contains("balancerd_login_target_available 1.0"))
        #expect(metrics.contains("balancerd_peer_sample_stale{peer=\"a2\"} 0.0"))
        #expect(metrics.contains("balancerd_peer_sample_stale{peer=\"a3\"} 1.0"))
        #expect(metrics.contains("balancerd_peer_sample_age_seconds{peer=\"a3\"} nan"))
        #expect(metrics.contains("balancerd_delayed_bad_messages 0.0"))
        let started = metrics.split(separator: "\n").first { $0.hasPrefix("balancerd_start_time_seconds ") }
        let startTime = try #require(started.flatMap { Double($0.split(separator: " ")[1]) }, "\(metrics)")
        #expect(abs(startTime - Date().timeIntervalSince1970) < 600)
        let result = try await run("/usr/bin/promtool", ["check", "metrics"], input: Data(metrics.utf8))
        #expect(result.status == 0, "\(result.output)\n\(metrics)")
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(result.output)")
    }

    @Test("/health (whole, ?summary, ?peer=) and /decisions validate against Web/openapi.yaml")
    func openAPI() async throws {
        let cluster = try await cluster()
        defer { cluster.stopAll() }
        for (path, schema) in [("/health", "Health"), ("/health?summary", "HealthSummary"), ("/health?peer=a3", "Health"), ("/decisions", "Decisions")] {
            let file = cluster.directory + "/doc.json"
            try body(cluster.get(path)).write(toFile: file, atomically: true, encoding: .utf8)
            // The virtual environment `make test-deps` makes (scripts/install-test-deps.sh).
            let python = repositoryRoot + "/.build/test-venv/bin/python3"
            let result = try await run(python, [repositoryRoot + "/Tests/tools/validate_openapi.py", repositoryRoot + "/Web/openapi.yaml", schema, file])
            #expect(result.status == 0, "\(path): \(result.output)")
        }
    }

    @Test("/health?summary counts and lists what /health shows: link states, eligible, draining, delayed, problem peers in table order")
    func summaryAgreesWithHealth() async throws {
        let cluster = try ProcessCluster(agents: ["a2", "a3", "a4", "a5"])
        defer { cluster.stopAll() }
        for id in ["a2", "a3", "a4"] { try cluster.startAgent(id) }
        try cluster.startServe()
        #expect(await waitFor { cluster.health()?.peers.filter(\.eligible).count == 3 } != nil)
        #expect(try ControlClient.send("drain a3 summary-test", to: cluster.directory + "/run/control").hasPrefix("ok"))
        cluster.setLoad("a4", percent: 150)
        // a5 never answers, so its link moves between connecting and backoff: compare once two reads agree.
        // Each try gives whether they agree, and what it read (nil until two reads agree on the links).
        let (tried, agreed) = await waitFor(polling: { () -> (agrees: Bool, last: String?) in
            guard let health = cluster.health(), health.peers.first(where: { $0.id == "a4" })?.eligible == false, let raw = cluster.get("/health?summary"),
                let summary = try? HealthSummary(json: Data(body(raw).utf8)),
                let again = cluster.health(), again.peers.map(\.link.state) == health.peers.map(\.link.state),
                again.peers.map(\.eligible) == health.peers.map(\.eligible)
            else { return (false, nil) }
            let problems = health.peers.filter(PeerListing.isProblem)
            let states = Dictionary(grouping: health.peers, by: \.link.state.rawValue).mapValues(\.count)
            let last = "summary \(summary.peers) \(summary.linkStates) eligible \(summary.eligible) draining \(summary.draining) problems \(summary.problems.map(\.id)); health \(states) \(problems.map(\.id))"
            return (summary.peers == health.peers.count && summary.linkStates == states
                && summary.eligible == health.peers.count(where: \.eligible) && summary.draining == health.peers.count(where: \.draining)
                && summary.delayed == health.peers.reduce(0) { $0 + $1.delayed }
                && summary.problemCount == problems.count && summary.problems.map(\.id) == problems.map(\.id)
                && summary.problems.map(\.excludedBecause) == problems.map(\.excludedBecause)
                && summary.balancer.target == health.balancer.target, last)
        }, until: { $0.agrees })
        let last = tried.last ?? ""
        #expect(agreed != nil, "\(last)")
        #expect(last.contains("problems [\"a3\", \"a4\", \"a5\"]"), "\(last)")
    }

    @Test("/health and /decisions decode into the types they are encoded from; an unknown figure is null, not 0 or missing")
    func documents() async throws {
        let cluster = try await cluster()
        defer { cluster.stopAll() }
        let healthBody = body(cluster.get("/health"))
        let health = try HealthDocument(json: Data(healthBody.utf8))
        #expect(health.host == "s1")
        #expect(health.peers.map(\.id).sorted() == ["a2", "a3"])
        let down = try #require(health.peers.first { $0.id == "a3" })
        #expect(down.load.loadPercent == nil && down.load.sampledAt == nil && down.load.stale)
        #expect(healthBody.contains(#""load_percent":null"#))
        #expect(healthBody.contains(#""drain_reason":null"#))
        let decisions = try DecisionsDocument(json: Data(body(cluster.get("/decisions")).utf8))
        #expect(decisions.host == "s1")
        #expect(decisions.decisions.contains { $0.target == "a2" })
    }

    @Test("headless Chromium renders the status page with a row for every peer")
    func statusPageInChromium() async throws {
        let cluster = try await cluster()
        defer { cluster.stopAll() }
        let result = try await run("/usr/bin/chromium", [
            "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom",
            "http://127.0.0.1:\(cluster.httpPort)/status",
        ])
        #expect(result.output.contains("data-peer-id=\"a2\""), "\(result.output.prefix(2000))")
        #expect(result.output.contains("data-peer-id=\"a3\""))
        #expect(result.output.contains("class=\"state up\""))
        #expect(result.output.contains("eligible"))
    }

    /// Issue 25's probe URL in the real browser: on today's main Chromium builds
    /// the search box with `autofocus` and `onfocus="alert(1)"` attributes, and
    /// the alert then holds `--dump-dom` until `timeout` ends it.
    @Test("headless Chromium finds no attribute injected by /status?q= with a quote and a combining mark")
    func reflectedSearchInChromium() async throws {
        let cluster = try await cluster()
        defer { cluster.stopAll() }
        // Under `timeout`: with the attributes injected, the alert() blocks headless Chromium for good.
        let result = try await run("/usr/bin/timeout", [
            "60", "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000", "--dump-dom",
            "http://127.0.0.1:\(cluster.httpPort)/status?q=%22%CC%81%20autofocus%20onfocus%3Dalert(1)%20x%3D",
        ])
        #expect(result.status == 0, "chromium: \(result.status) (124: still running after 60 s, held by an alert)")
        let dom = result.output
        let input = try #require(dom.components(separatedBy: "<input").dropFirst().first.map { "<input" + $0.prefix { $0 != ">" } + ">" }, "\(dom.prefix(2000))")
        #expect(input.contains(#"name="q""#), "\(input)")
        #expect(!input.contains("onfocus=\""), "\(input)")
        #expect(!input.contains(" autofocus=\""), "\(input)")
        #expect(input.contains("value=\"&quot;\u{301} autofocus onfocus=alert(1) x=\""), "\(input)")
    }

    @Test("w3m -dump of /status (no JavaScript) shows every peer's link, load and verdict, and the next login's target")
    func statusPageInW3m() async throws {
        let cluster = try await cluster()
        defer { cluster.stopAll() }
        let result = try await run("/usr/bin/w3m", ["-dump", "-no-proxy", "-cols", "140", "http://127.0.0.1:\(cluster.httpPort)/status"])
        let dump = result.output
        #expect(result.status == 0, "\(dump)")
        #expect(dump.contains("Next login goes to"), "\(dump)")
        #expect(dump.contains("this server at 150.0 %, max_load 100.0 %"), "\(dump)")
        let lines = dump.split(separator: "\n").map(String.init)
        // The eligible spare's row: its id, its link up, its load, its verdict.
        #expect(lines.contains { $0.contains("a2") && $0.contains("up") && $0.contains("10.0 %") && $0.contains("eligible") }, "\(dump)")
        // The spare whose agent never started: no load (unknown, not 0), excluded with the reason.
        #expect(lines.contains { $0.contains("a3") && $0.contains("unknown") && $0.contains("excluded") }, "\(dump)")
        #expect(!dump.contains("JavaScript is required"))
        try? FileManager.default.createDirectory(atPath: repositoryRoot + "/.build/status-page", withIntermediateDirectories: true)
        try? dump.write(toFile: repositoryRoot + "/.build/status-page/w3m-dump.txt", atomically: true, encoding: .utf8)
    }

    @Test("headless Chromium screenshots of /status at a desktop and a phone width", arguments: [("desktop", 1280, 900), ("phone", 390, 1400)])
    func statusPageScreenshots(name: String, width: Int, height: Int) async throws {
        let cluster = try await cluster()
        defer { cluster.stopAll() }
        let folder = repositoryRoot + "/.build/status-page"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let file = "\(folder)/status-\(name).png"
        try? FileManager.default.removeItem(atPath: file)
        let result = try await run("/usr/bin/chromium", [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=3000",
            "--screenshot=\(file)", "--window-size=\(width),\(height)", "http://127.0.0.1:\(cluster.httpPort)/status",
        ])
        let png = try #require(FileManager.default.contents(atPath: file), "\(result.output)")
        // A PNG's IHDR holds the width and height (big-endian) at bytes 16 and 20.
        let bytes = Array(png)
        #expect(bytes.count > 24 && bytes[1...3] == [0x50, 0x4E, 0x47])
        let shotWidth = bytes[16...19].reduce(0) { $0 << 8 | Int($1) }
        #expect(shotWidth == width)
    }
}

// Requests per second over one peer link, pipelined (64 in flight) and one at
// a time, plain TCP and mutual TLS, with request ids off and on, with p50/p99
// latency; then the loopback floor under "one at a time" (LoopbackFloor.swift).
// Run: swift run -c release LinkBenchmark
import Foundation
import Logging
import Lonc
import NIOPosix

let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
let replies = AgentLoadReplies(load: { "37.50" }, userload: { "12.00" }, loadavg: { "0.75 0.50 0.25" })
let logger: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}()

let directory = NSTemporaryDirectory() + "balancerd-linkbench-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
try ClusterCertificateAuthority.create(directory: directory)
try ClusterCertificateAuthority.issue(id: "client", hostname: "client.localhost", caDirectory: directory, into: directory)
try ClusterCertificateAuthority.issue(id: "agent", hostname: "agent.localhost", caDirectory: directory, into: directory)
func tls(_ id: String) throws -> OpenSSLTransport {
    try OpenSSLTransport(caPath: directory + "/ca.pem", certificatePath: "\(directory)/\(id).pem", keyPath: "\(directory)/\(id).key")
}

func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
    Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
}

func row(_ transport: String, _ mode: String, perSecond: Double, latencies: [UInt64]) {
    print("| \(transport) | \(mode) | \(String(format: "%.0f", perSecond)) | \(String(format: "%.1f", percentile(latencies, 0.5))) | \(String(format: "%.1f", percentile(latencies, 0.99))) |")
}

/// `--profile N`: only plain TCP with ids, N requests one at a time (for `perf`; BENCHMARKS.md).
let profileCount = CommandLine.arguments.firstIndex(of: "--profile").flatMap { index in
    CommandLine.arguments.dropFirst(index + 1).first.flatMap { Int($0) }
}
let modes = profileCount.map { [("one at a time", 1, $0)] } ?? [("pipelined (64 in flight)", 64, 200_000), ("one at a time", 1, 20_000)]

func measure(transport: String, agentTransport: any TransportSecurity, clientTransport: any TransportSecurity, requestIDs: Bool) async throws {
    let hosts = HostsTable(entries: [
        HostEntry(id: "client", domain: "b", role: "access", hostname: "client.localhost", address: "127.0.0.1"),
        HostEntry(id: "agent", domain: "b", role: "access", hostname: "agent.localhost", address: "127.0.0.2"),
    ])
    let agent = AgentServer(
        settings: AgentSettings(ownID: "agent", host: "127.0.0.1", port: 0, handshakeTimeout: .seconds(5), maxLine: 65536, replies: replies),
        hosts: { hosts }, transport: agentTransport, group: group, logger: logger)
    let port = try await agent.start().port ?? 0
    let link = PeerLink(
        host: HostEntry(id: "agent", domain: "b", role: "access", hostname: "agent.localhost", address: "127.0.0.1", port: port),
        settings: LinkSettings(requestTimeout: .seconds(30), keepalive: .seconds(60), pipelineDepth: 64, requestIDs: requestIDs),
        transport: clientTransport,
        eventLoop: group.next(), logger: logger)
    link.start()
    while link.status.state != .up { try await Task.sleep(for: .milliseconds(5)) }
    guard link.status.requestIDs == requestIDs else { fatalError("request ids \(requestIDs) asked, link has \(String(describing: link.status.requestIDs))") }
    let label = "\(transport), ids \(requestIDs ? "on" : "off")"
    for (mode, workers, total) in modes {
        let perWorker = total / workers
        let start = DispatchTime.now().uptimeNanoseconds
        let latencies = await withTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var samples: [UInt64] = []
                    samples.reserveCapacity(perWorker)
                    for _ in 0..<perWorker {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        _ = await link.request(WireProtocol.load)
                        samples.append(DispatchTime.now().uptimeNanoseconds - t0)
                    }
                    return samples
                }
            }
            return await group.reduce(into: [UInt64]()) { $0 += $1 }
        }.sorted()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        row(label, mode, perSecond: Double(latencies.count) / seconds, latencies: latencies)
    }
    await link.shutdown()
    await agent.stop()
}

print("| transport | mode | requests/s | p50 µs | p99 µs |")
print("| --- | --- | --- | --- | --- |")
if let profileCount {
    try await measure(transport: "plain TCP", agentTransport: PlainTransport(), clientTransport: PlainTransport(), requestIDs: true)
    let echo = try await LoopbackFloor.nioEcho(group: group, count: profileCount)
    row("bare NIO line echo (floor)", "one at a time", perSecond: echo.perSecond, latencies: echo.latencies)
    try await group.shutdownGracefully()
    exit(0)
}
// `--ids-first`: ids on before ids off, to see whether running second favours or hurts a side.
let idsOrder = CommandLine.arguments.contains("--ids-first") ? [true, false] : [false, true]
for requestIDs in idsOrder {
    try await measure(transport: "plain TCP", agentTransport: PlainTransport(), clientTransport: PlainTransport(), requestIDs: requestIDs)
}
for requestIDs in idsOrder {
    try await measure(transport: "mutual TLS 1.3", agentTransport: try tls("agent"), clientTransport: try tls("client"), requestIDs: requestIDs)
}
let echo = try await LoopbackFloor.nioEcho(group: group, count: 20_000)
row("bare NIO line echo (floor)", "one at a time", perSecond: echo.perSecond, latencies: echo.latencies)
let blocking = try LoopbackFloor.blockingSockets(count: 20_000)
row("blocking sockets, 2 threads (floor)", "one at a time", perSecond: blocking.perSecond, latencies: blocking.latencies)
try await group.shutdownGracefully()

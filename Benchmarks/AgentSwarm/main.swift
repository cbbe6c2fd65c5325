// Many agents in one process, for measuring `balancerd serve` against many
// peers on loopback (Benchmarks/poll/run.sh starts several, at most 5,000
// each). usage: AgentSwarm COUNT FIRST-PORT LOADAVG-FILE [FIRST-ID]
// The agents are p<FIRST-ID> … p<FIRST-ID + COUNT - 1> (FIRST-ID: 1).
import Foundation
import Health
import Logging
import Lonc
import NIOPosix

let arguments = CommandLine.arguments
guard (4...5).contains(arguments.count), let count = Int(arguments[1]), let firstPort = Int(arguments[2]),
    let firstID = arguments.count == 5 ? Int(arguments[4]) : 1
else {
    FileHandle.standardError.write(Data("usage: AgentSwarm COUNT FIRST-PORT LOADAVG-FILE [FIRST-ID]\n".utf8))
    exit(2)
}
let loadFile = arguments[3]
let logger: Logger = {
    var logger = Logger(label: "swarm")
    logger.logLevel = .error
    return logger
}()
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let local = LocalLoad(
    loadAverage: LoadAverageFile(path: loadFile), sessions: SessionDirectory(path: "/nonexistent", activeWindow: .seconds(60)),
    loadLimit: 2, userLoadLimit: 500)
let hosts = HostsTable(entries: [])
var agents: [AgentServer] = []
for index in 0..<count {
    let agent = AgentServer(
        settings: AgentSettings(
            ownID: "p\(firstID + index)", host: "127.0.0.1", port: firstPort + index, handshakeTimeout: .seconds(5), maxLine: 65536,
            replies: AgentLoadReplies(load: { local.loadReply() }, userload: { local.userLoadReply() }, loadavg: { local.loadAverageReply() })),
        hosts: { hosts }, transport: PlainTransport(), group: group, logger: logger)
    try await agent.start()
    agents.append(agent)
}
print("ready: \(count) agents from port \(firstPort)")
fflush(nil)
while true { try await Task.sleep(for: .seconds(3600)) }

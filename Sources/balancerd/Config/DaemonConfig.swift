import Foundation
import Lonc

/// Everything `balancerd.yaml` says, with DESIGN.md's defaults filled in and
/// relative paths resolved against the config file's folder.
struct DaemonConfig: Sendable, Equatable {
    /// The config file this came from (for messages).
    var file: String
    /// This server's id in the hosts table.
    var hostID: String
    var hostsTablePath: String
    var stateDirectory: String
    var socketDirectory: String
    var tls: TLS
    var links: Links
    var poll: Poll
    var balancer: BalancerSection
    var http: HTTP
    var agent: Agent

    struct TLS: Sendable, Equatable {
        var caPath: String
        var certificatePath: String
        var keyPath: String
        /// Plain TCP between servers; only allowed when every peer address is loopback.
        var insecure: Bool
    }

    struct Links: Sendable, Equatable {
        var port: Int
        var connectTimeout: Duration
        var requestTimeout: Duration
        var keepalive: Duration
        var maxAttempts: Int
        var backoffInitial: Duration
        var backoffMax: Duration
        var pipelineDepth: Int
        var maxLine: Int
    }

    struct Poll: Sendable, Equatable {
        var interval: Duration
        var timeout: Duration
        var staleAfter: Duration
        var history: Int
    }

    /// Named apart from the Balancer module's types.
    struct BalancerSection: Sendable, Equatable {
        enum Mode: String, Sendable, Equatable, CaseIterable {
            case overflow
            case always
            case roundRobin = "round-robin"
        }
        var mode: Mode
        var spares: [String]
        var sameDomain: Bool
        var loginCost: Double
        var maxLoad: Double
        var readmitLoad: Double
        var slowStart: Duration
        /// Where a login that stays on this server goes.
        var localLoginURL: String
        var scheme: String
        var loginPath: String
    }

    struct HTTP: Sendable, Equatable {
        var listen: ListenAddress
        var threads: Int
        var connectionLimit: Int
        var connectionTimeout: Duration
        /// Connections from one address at once (0: no limit). Campus NATs put many users behind one address.
        var perAddressLimit: Int
        var statusAllow: [String]
    }

    struct Agent: Sendable, Equatable {
        /// Nil: `serve` does not answer as an agent (`balancerd agent` then listens on `links.port`).
        var listen: ListenAddress?
        var loadLimit: Double
        var userLoadLimit: Double
        var sessionsDirectory: String
        var activeWindow: Duration
        var loadFile: String
    }

    /// This server's hosts-table entry. The loader guarantees it exists.
    func ownEntry(in hosts: HostsTable) -> HostEntry? { hosts[hostID] }
}

/// `host:port`, `[v6]:port` or `:port` (all addresses).
struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    var host: String
    var port: Int

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses a listen address; nil when it is not one.
    init?(parsing text: String) {
        var hostPart: Substring
        var portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
            guard HostsTable.isIPv6Literal(String(hostPart)) else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.isEmpty { hostPart = "0.0.0.0" }
            guard HostsTable.isIPv4Literal(String(hostPart)) || HostsTable.isHostname(String(hostPart)) else { return nil }
        }
        guard let port = Int(portPart), (0...65535).contains(port) else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

import Foundation
import Lonc

/// Everything `balancerd.yaml` says, with DESIGN.md's defaults filled in and
/// relative paths resolved against the config file's folder.
public struct DaemonConfig: Sendable, Equatable {
    /// The config file this came from (for messages).
    public var file: String
    /// This server's id in the hosts table.
    public var hostID: String
    public var hostsTablePath: String
    public var stateDirectory: String
    public var socketDirectory: String
    public var tls: TLS
    public var links: Links
    public var poll: Poll
    public var balancer: BalancerSection
    public var http: HTTP
    public var agent: Agent

    public struct TLS: Sendable, Equatable {
        public var caPath: String
        public var certificatePath: String
        public var keyPath: String
        /// Plain TCP between servers; only allowed when every peer address is loopback.
        public var insecure: Bool
    }

    public struct Links: Sendable, Equatable {
        public var port: Int
        public var connectTimeout: Duration
        public var requestTimeout: Duration
        public var keepalive: Duration
        public var maxAttempts: Int
        public var backoffInitial: Duration
        public var backoffMax: Duration
        public var pipelineDepth: Int
        public var maxLine: Int
    }

    public struct Poll: Sendable, Equatable {
        public var interval: Duration
        public var timeout: Duration
        public var staleAfter: Duration
        public var history: Int
    }

    /// Named apart from the Balancer module's types.
    public struct BalancerSection: Sendable, Equatable {
        public enum Mode: String, Sendable, Equatable, CaseIterable {
            case overflow
            case always
            case roundRobin = "round-robin"
        }
        public var mode: Mode
        public var spares: [String]
        public var sameDomain: Bool
        public var loginCost: Double
        public var maxLoad: Double
        public var readmitLoad: Double
        public var slowStart: Duration
        /// Where a login that stays on this server goes.
        public var localLoginURL: String
        public var scheme: String
        public var loginPath: String
    }

    public struct HTTP: Sendable, Equatable {
        public var listen: ListenAddress
        public var threads: Int
        public var connectionLimit: Int
        public var connectionTimeout: Duration
        /// Connections from one address at once (0: no limit). Campus NATs put many users behind one address.
        public var perAddressLimit: Int
        public var statusAllow: [String]
    }

    public struct Agent: Sendable, Equatable {
        /// Nil: `serve` does not answer as an agent (`balancerd agent` then listens on `links.port`).
        public var listen: ListenAddress?
        public var loadLimit: Double
        public var userLoadLimit: Double
        public var sessionsDirectory: String
        public var activeWindow: Duration
        public var loadFile: String
    }

    /// This server's hosts-table entry. The loader guarantees it exists.
    public func ownEntry(in hosts: HostsTable) -> HostEntry? { hosts[hostID] }
}

/// `host:port`, `[v6]:port` or `:port` (all addresses).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses a listen address; nil when it is not one.
    public init?(parsing text: String) {
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

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

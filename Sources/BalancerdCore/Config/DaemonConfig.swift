import Foundation
import Health
import Lonc

/// Everything `balancerd.yaml` says, with relative paths resolved against the
/// config file's folder (docs/REFERENCE.md, "Files").
///
/// One model: `links` and `poll` are the library settings themselves, and the
/// defaults are written once, in each settings type (its property values or
/// its `init`). `ConfigLoader` starts from these defaults and reads each key
/// with the default as its fallback.
public struct DaemonConfig: Sendable, Equatable {
    /// The config file this came from (for messages).
    public var file: String
    /// This server's id in the hosts table.
    public var hostID = ""
    public var hostsTablePath = "/etc/balancerd/hosts.tab"
    public var stateDirectory = "/var/lib/balancerd"
    public var socketDirectory = "/run/balancerd"
    /// The group the relay sockets (and `socket_dir`) belong to, e.g. `www-data`;
    /// nil: the daemon's own group. The control socket stays private either way.
    public var socketGroup: SocketGroup?
    /// One relay socket per peer in `socket_dir` (`relay_sockets`); false for a
    /// balancer whose local programs send nothing over the links: half the open files.
    public var relaySockets = true
    public var tls = TLS()
    public var links = LinkSettings()
    public var poll = PollSettings()
    public var balancer = BalancerSettings()
    public var http = HTTPSettings()
    public var agent = Agent()

    /// The defaults, for a config read from `file`.
    public init(file: String) { self.file = file }

    public struct TLS: Sendable, Equatable {
        public var caPath = ""
        public var certificatePath = ""
        public var keyPath = ""
        /// Plain TCP between servers; only allowed when every peer address is loopback.
        public var insecure = false

        public init() {}
    }

    public struct Agent: Sendable, Equatable {
        /// Nil: `serve` does not answer as an agent (`balancerd agent` then listens on `links.port`).
        public var listen: ListenAddress?
        /// Nil: no HAProxy agent-check port. Set: `balancerd agent` answers HAProxy's
        /// `agent-check` there with a weight or `drain` (`HAProxyAgentAnswer`).
        public var haproxyListen: ListenAddress?
        public var loadLimit = 2.0
        public var userLoadLimit = 500.0
        public var sessionsDirectory = "/var/lib/sessions"
        public var activeWindow = Duration.seconds(1800)
        public var loadFile = "/proc/loadavg"
        /// Nil: commands the agent does not own get `unknown_cmd`. Set: the UNIX
        /// socket of the site's application (`HandlerSocketClient`).
        public var handler: String?
        /// How long the agent waits for the handler's reply before answering `con_lost`.
        public var handlerTimeout = Duration.seconds(30)
        /// Connections kept open to the handler, each carrying one request at a time.
        public var handlerConnections = 4

        public init() {}
    }
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

    /// True for an address only this machine reaches: 127.0.0.0/8, `::1` or `localhost`
    /// (what `tls.insecure` demands of every address the agent listens on).
    public var isLoopback: Bool {
        if host == "localhost" { return true }
        guard let address = IPAddress(host) else { return false }
        return address.bytes.count == 4 ? address.bytes[0] == 127 : address.bytes == [UInt8](repeating: 0, count: 15) + [1]
    }
}

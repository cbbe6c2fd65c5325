/// One server of the network, as a line of `hosts.tab` describes it:
///
///     id:domain:role:hostname:ip[:port]
///     msua1:msu:access:agrajag.lite.msu.edu:35.8.63.68
public struct HostEntry: Sendable, Hashable, Codable {
    /// The server's short, unique name (`msua1`); also its id on the wire (`sethost:<id>`).
    public var id: String
    /// The LON-CAPA domain: a logical grouping, unrelated to DNS.
    public var domain: String
    /// `library` or `access` (any word is kept; the balancer does not care).
    public var role: String
    /// The DNS name peers dial and certificates must name; the only source of redirect hosts.
    public var hostname: String
    /// The address to connect to: an IPv4 or IPv6 literal, or a name (no brackets).
    public var address: String
    /// The agent port, when the table gives one; otherwise `links.port` applies.
    public var port: Int?

    /// Creates an entry from its parts.
    public init(id: String, domain: String, role: String, hostname: String, address: String, port: Int? = nil) {
        self.id = id
        self.domain = domain
        self.role = role
        self.hostname = hostname
        self.address = address
        self.port = port
    }

    /// The port to dial: the table's, or `defaultPort` when the table gives none.
    public func port(default defaultPort: Int) -> Int { port ?? defaultPort }

    /// True when the address is in 127.0.0.0/8 or is `::1` (or `localhost`): what `tls.insecure` demands.
    public var isLoopback: Bool {
        if address == "::1" || address == "localhost" { return true }
        let parts = address.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

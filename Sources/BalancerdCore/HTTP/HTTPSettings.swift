/// The endpoint's settings: `http.*` in balancerd.yaml, with the defaults
/// written once, here. `HTTPServer` reads the socket and thread figures, the
/// `Router` the status allow list.
public struct HTTPSettings: Sendable, Equatable {
    public var listen: ListenAddress
    /// libmicrohttpd's epoll thread pool.
    public var threads: Int
    public var connectionLimit: Int
    public var connectionTimeout: Duration
    /// Connections from one address at once (0: no limit), so one greedy client
    /// cannot take them all; campus NATs put many users behind one address.
    public var perAddressLimit: Int
    /// Who may see /status, /health, /decisions and /metrics (addresses or CIDR blocks).
    public var statusAllow: [String]

    public init(
        listen: ListenAddress = ListenAddress(host: "0.0.0.0", port: 8080), threads: Int = 2, connectionLimit: Int = 1024,
        connectionTimeout: Duration = .seconds(15), perAddressLimit: Int = 256, statusAllow: [String] = ["127.0.0.0/8", "::1/128"]
    ) {
        self.listen = listen
        self.threads = threads
        self.connectionLimit = connectionLimit
        self.connectionTimeout = connectionTimeout
        self.perAddressLimit = perAddressLimit
        self.statusAllow = statusAllow
    }
}

/// The endpoint's settings: `http.*` in balancerd.yaml, with the defaults
/// written once, here. `HTTPServer` reads the socket and thread figures and
/// the trusted proxies, the `Router` the status allow list and host names.
public struct HTTPSettings: Sendable, Equatable {
    public var listen: ListenAddress
    /// libmicrohttpd's epoll thread pool.
    public var threads: Int
    /// Connections at once, from everyone: four times `perAddressLimit`, so one
    /// address (a campus NAT, or an attacker) can take at most a quarter of them.
    public var connectionLimit: Int
    /// An idle or slow connection is closed after this; slowloris and slow-body
    /// clients hold their connections no longer, and no more than `perAddressLimit` of them.
    public var connectionTimeout: Duration
    /// Connections from one address at once (0: no limit), so one greedy client
    /// cannot take them all. Campus NATs and proxies put thousands of users
    /// behind one address: 2,048 serves such a campus in one login rush.
    public var perAddressLimit: Int
    /// Bytes per connection for the request (libmicrohttpd's pool): headers
    /// beyond about half of it are answered 431. libmicrohttpd zeroes the whole
    /// pool between keep-alive requests, so more costs time on every request.
    public var connectionMemory: Int
    /// Who may see /status, /health, /decisions and /metrics (addresses or CIDR blocks).
    public var statusAllow: [String]
    /// Proxies whose `X-Forwarded-For` names the client (`TrustedProxies`); none by default.
    public var trustedProxies: [String] = []
    /// The `Host` names the status routes answer (`StatusHosts`); the loader fills
    /// in `StatusHosts.defaults` when the config names none.
    public var statusHosts: [String] = ["localhost"]

    public init(
        listen: ListenAddress = ListenAddress(host: "0.0.0.0", port: 8080), threads: Int = 2, connectionLimit: Int = 8192,
        connectionTimeout: Duration = .seconds(15), perAddressLimit: Int = 2048, statusAllow: [String] = ["127.0.0.0/8", "::1/128"],
        connectionMemory: Int = 16_384
    ) {
        self.listen = listen
        self.threads = threads
        self.connectionLimit = connectionLimit
        self.connectionTimeout = connectionTimeout
        self.perAddressLimit = perAddressLimit
        self.statusAllow = statusAllow
        self.connectionMemory = connectionMemory
    }
}

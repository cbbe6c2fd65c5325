import Lonc

/// What a reload changes, key by key: the keys that take effect at once, and
/// those that need a restart (named in the log and in `ctl reload`'s answer,
/// never kept silently). Pure: two configs in, two lists of keys out.
public struct ReloadPlan: Sendable, Equatable {
    /// Changed keys the running daemon applies now.
    public var applied: [String]
    /// Changed keys that keep their running value until the next restart.
    public var needRestart: [String]

    /// Keys `balancerd serve` cannot change while it runs: its sockets, folders,
    /// identity, and the links' settings and certificates (every link was made with them).
    static let serveRestartKeys: Set<String> = Set(["host_id", "state_dir", "socket_dir", "socket_group", "relay_sockets", "agent.listen", "agent.haproxy_listen"]
        + handlerKeys
        + keys.filter { $0.key.hasPrefix("tls.") || $0.key.hasPrefix("links.") || $0.key.hasPrefix("http.") }.map(\.key))

    /// Keys `balancerd agent` cannot change while it runs: its identity and
    /// listening socket. Certificates, limits and load sources apply to the next client.
    static let agentRestartKeys: Set<String> = Set(["host_id", "agent.listen", "agent.haproxy_listen", "links.port", "tls.insecure"] + handlerKeys)

    /// The application handler's connections are opened once, at start.
    static let handlerKeys = ["agent.handler", "agent.handler_timeout", "agent.handler_connections"]

    /// The plan for `serve`.
    public static func serve(from old: DaemonConfig, to new: DaemonConfig) -> ReloadPlan {
        plan(from: old, to: new, restart: serveRestartKeys)
    }

    /// The plan for `agent`.
    public static func agent(from old: DaemonConfig, to new: DaemonConfig) -> ReloadPlan {
        plan(from: old, to: new, restart: agentRestartKeys)
    }

    private static func plan(from old: DaemonConfig, to new: DaemonConfig, restart: Set<String>) -> ReloadPlan {
        let changed = keys.filter { !$0.same(old, new) }.map(\.key)
        return ReloadPlan(applied: changed.filter { !restart.contains($0) }, needRestart: changed.filter { restart.contains($0) })
    }

    /// Every key of balancerd.yaml, as a reload compares them.
    public static var allKeys: [String] { keys.map(\.key) }

    /// `; restart needed for links.port, http.listen` (empty when none).
    public var restartNote: String {
        needRestart.isEmpty ? "" : "; restart needed for \(needRestart.joined(separator: ", ")) (still running the old values)"
    }

    /// Every key of balancerd.yaml with how to compare it, in the reference's order.
    static let keys: [(key: String, same: @Sendable (DaemonConfig, DaemonConfig) -> Bool)] = [
        ("host_id", same(\.hostID)), ("hosts_table", same(\.hostsTablePath)), ("state_dir", same(\.stateDirectory)),
        ("socket_dir", same(\.socketDirectory)), ("socket_group", same(\.socketGroup)), ("relay_sockets", same(\.relaySockets)),
        ("tls.ca", same(\.tls.caPath)), ("tls.cert", same(\.tls.certificatePath)), ("tls.key", same(\.tls.keyPath)),
        ("tls.insecure", same(\.tls.insecure)),
        ("links.port", same(\.links.port)), ("links.connect_timeout", same(\.links.connectTimeout)),
        ("links.request_timeout", same(\.links.requestTimeout)), ("links.keepalive", same(\.links.keepalive)),
        ("links.max_attempts", same(\.links.maxAttempts)), ("links.backoff_initial", same(\.links.backoffInitial)),
        ("links.backoff_max", same(\.links.backoffMax)), ("links.pipeline_depth", same(\.links.pipelineDepth)),
        ("links.max_line", same(\.links.maxLine)), ("links.request_ids", same(\.links.requestIDs)),
        ("links.max_connecting", same(\.links.maxConnecting)),
        ("poll.interval", same(\.poll.interval)), ("poll.timeout", same(\.poll.timeout)),
        ("poll.stale_after", same(\.poll.staleAfter)), ("poll.history", same(\.poll.history)),
        ("balancer.mode", same(\.balancer.mode)), ("balancer.spares", same(\.balancer.spares)),
        ("balancer.backups", same(\.balancer.backups)), ("balancer.instances", same(\.balancer.instances)),
        ("balancer.same_domain", same(\.balancer.sameDomain)), ("balancer.login_cost", same(\.balancer.loginCost)),
        ("balancer.learn_login_cost", same(\.balancer.learnsLoginCost)),
        ("balancer.load_time_constant", same(\.balancer.loadTimeConstant)),
        ("balancer.address_rate", same(\.balancer.addressRate)), ("balancer.address_burst", same(\.balancer.addressBurst)),
        ("balancer.max_load", same(\.balancer.maxLoad)), ("balancer.readmit_load", same(\.balancer.readmitLoad)),
        ("balancer.slow_start", same(\.balancer.slowStart)), ("balancer.affinity_cookie", same(\.balancer.affinityCookie)),
        ("balancer.affinity_lifetime", same(\.balancer.affinityLifetime)), ("balancer.local_login_url", same(\.balancer.localLoginURL)),
        ("balancer.scheme", same(\.balancer.scheme)), ("balancer.login_path", same(\.balancer.loginPath)),
        ("http.listen", same(\.http.listen)), ("http.threads", same(\.http.threads)),
        ("http.connection_limit", same(\.http.connectionLimit)), ("http.connection_timeout", same(\.http.connectionTimeout)),
        ("http.per_address_limit", same(\.http.perAddressLimit)), ("http.connection_memory", same(\.http.connectionMemory)), ("http.status_allow", same(\.http.statusAllow)),
        ("http.trusted_proxies", same(\.http.trustedProxies)), ("http.status_hosts", same(\.http.statusHosts)),
        ("agent.listen", same(\.agent.listen)), ("agent.load_limit", same(\.agent.loadLimit)),
        ("agent.user_load_limit", same(\.agent.userLoadLimit)), ("agent.sessions_dir", same(\.agent.sessionsDirectory)),
        ("agent.active_window", same(\.agent.activeWindow)), ("agent.load_file", same(\.agent.loadFile)),
        ("agent.haproxy_listen", same(\.agent.haproxyListen)), ("agent.handler", same(\.agent.handler)),
        ("agent.handler_timeout", same(\.agent.handlerTimeout)), ("agent.handler_connections", same(\.agent.handlerConnections)),
    ]

    private static func same<Value: Equatable & Sendable>(_ path: any KeyPath<DaemonConfig, Value> & Sendable) -> @Sendable (DaemonConfig, DaemonConfig) -> Bool {
        { $0[keyPath: path] == $1[keyPath: path] }
    }
}

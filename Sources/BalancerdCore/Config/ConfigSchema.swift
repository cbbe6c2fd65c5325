import Balancer
import Lonc

/// Every key of balancerd.yaml, each declared once, in docs/REFERENCE.md's
/// order. The loader and `check` read through it, `ReloadPlan` compares by it,
/// a reload keeps the `restart` keys' running values by it, and the
/// environment names, the reference's keys table and examples/balancerd.yaml
/// are tested against it (ConfigSchemaTests).
///
/// Reload classes: `serve` reloads the hosts table, `poll.*`, `balancer.*` and
/// this server's load source; its sockets, folders, identity, links, HTTP
/// endpoint and certificates need a restart. `agent` reloads the hosts table,
/// the certificates and handshake limit for the next client, its load
/// source and the HAProxy answer; it reads no `poll.*`, `http.*` or relay keys.
package enum ConfigSchema {
    package static let keys: [Key] = [
        Key(
            "host_id", \.hostID, .text(check: { $0.isEmpty ? "missing: this server's id in the hosts table is required" : nil }),
            serve: .restart, agent: .restart, shown: "(required)", "this server's id in the hosts table"),
        Key("hosts_table", \.hostsTablePath, .path, serve: .applied, agent: .applied, "the hosts table"),
        Key("state_dir", \.stateDirectory, .path, serve: .restart, agent: .applied, "`delayed/` and `drains.json`; must survive reboots"),
        Key("socket_dir", \.socketDirectory, .path, serve: .restart, agent: .unused, "one relay socket per peer and the `control` socket"),
        Key("relay_sockets", \.relaySockets, .bool, serve: .restart, agent: .unused, "one relay socket per peer in `socket_dir`"),
        Key(
            "socket_group", \.socketGroup, .group, serve: .restart, agent: .unused, shown: "(the daemon's group)",
            "the group the relay sockets and `socket_dir` are handed to"),
        Key(
            "tls.ca", \.tls.caPath, .path, serve: .restart, agent: .applied, shown: "(required unless insecure)",
            "the cluster CA (PEM) both sides verify against"),
        Key("tls.cert", \.tls.certificatePath, .path, serve: .restart, agent: .applied, shown: "(required unless insecure)", "this server's certificate and key"),
        Key("tls.key", \.tls.keyPath, .path, serve: .restart, agent: .applied, shown: "(required unless insecure)", "this server's certificate and key"),
        Key("tls.insecure", \.tls.insecure, .bool, serve: .restart, agent: .restart, "plain TCP between servers"),

        Key("links.port", \.links.port, .integer(in: 1...65535), serve: .restart, agent: .restart, "the agent port for peers whose table address has none"),
        Key(
            "links.connect_timeout", \.links.connectTimeout, .duration(), serve: .restart, agent: .applied,
            "TCP connect, then TLS and the handshake, each within this"),
        Key("links.request_timeout", \.links.requestTimeout, .duration(), serve: .restart, agent: .unused, "a request unanswered this long resets the link"),
        Key("links.keepalive", \.links.keepalive, .duration(), serve: .restart, agent: .unused, "an idle link is pinged this often"),
        Key("links.max_attempts", \.links.maxAttempts, .integer(in: 1...1_000_000), serve: .restart, agent: .unused, "failures in a row before `given_up`"),
        Key("links.backoff_initial", \.links.backoffInitial, .duration(), serve: .restart, agent: .unused, "first delay after a failure"),
        Key("links.backoff_max", \.links.backoffMax, .duration(), serve: .restart, agent: .unused, "… up to this"),
        Key("links.pipeline_depth", \.links.pipelineDepth, .integer(in: 1...4096), serve: .restart, agent: .unused, "requests in flight at once on one link"),
        Key(
            "links.max_connecting", \.links.maxConnecting, .integer(in: 1...100_000), serve: .restart, agent: .unused,
            "links connecting or handshaking at once"),
        // The agent's application handler bounds its replies by it from the start: a restart for the agent too.
        Key("links.max_line", \.links.maxLine, .integer(in: 64...(16 << 20)), serve: .restart, agent: .restart, "the longest line, both ways"),
        Key("links.request_ids", \.links.requestIDs, .bool, serve: .restart, agent: .unused, "offer request ids in the handshake"),

        Key("poll.interval", \.poll.interval, .duration(), serve: .applied, agent: .unused, "time between two polls of one peer"),
        Key("poll.timeout", \.poll.timeout, .duration(), serve: .applied, agent: .unused, "a poll unanswered this long counts as no answer"),
        Key("poll.stale_after", \.poll.staleAfter, .duration(), serve: .applied, agent: .unused, "a sample older than this does not count"),
        Key("poll.history", \.poll.history, .integer(in: 1...100_000), serve: .applied, agent: .unused, "samples kept per peer for the status page"),

        Key("balancer.mode", \.balancer.mode, .choice(of: "a mode"), serve: .applied, agent: .unused, "`overflow`, `always` or `round-robin`"),
        Key("balancer.spares", \.balancer.spares, .list(), serve: .applied, agent: .unused, "hosts-table ids that take redirected logins"),
        Key(
            "balancer.backups", \.balancer.backups, .list(), serve: .applied, agent: .unused,
            "hosts-table ids (the seed's library servers) that take logins only when no spare can"),
        Key(
            "balancer.instances", \.balancer.instances, .list(), serve: .applied, agent: .unused,
            "hosts-table ids of every `serve` behind the same login address"),
        Key("balancer.same_domain", \.balancer.sameDomain, .bool, serve: .applied, agent: .unused, "only spares in this server's domain"),
        Key(
            "balancer.login_cost", \.balancer.loginCost, .number(in: 0...100), serve: .applied, agent: .unused,
            "percentage points a login adds to a spare's load once the figure shows it"),
        Key(
            "balancer.learn_login_cost", \.balancer.learnsLoginCost, .bool, serve: .applied, agent: .unused,
            "learn each spare's cost of a login from its own samples"),
        Key(
            "balancer.load_time_constant", \.balancer.loadTimeConstant, .duration(zero: true), serve: .applied, agent: .unused,
            "how long the `load` figure takes to show 63 % of a login's work"),
        Key(
            "balancer.address_rate", \.balancer.addressRate, .number(in: 0...1_000_000), serve: .applied, agent: .unused,
            "logins a second one client address (IPv4, or IPv6 /64) may book in the ledger"),
        Key(
            "balancer.address_burst", \.balancer.addressBurst, .integer(in: 1...1_000_000), serve: .applied, agent: .unused,
            "the logins one address may book at once before `address_rate` applies"),
        // The HAProxy agent-check answer is `drain` at or above it, so the agent reads it too.
        Key(
            "balancer.max_load", \.balancer.maxLoad, .number(in: 1...10_000), serve: .applied, agent: .applied,
            "a spare at or above this effective % is never chosen"),
        Key("balancer.readmit_load", \.balancer.readmitLoad, .number(in: 0...10_000), serve: .applied, agent: .unused, "… until it is back below this"),
        Key(
            "balancer.slow_start", \.balancer.slowStart, .duration(zero: true), serve: .applied, agent: .unused,
            "a spare that comes back (link up again, undrained) takes a share growing linearly over this"),
        Key(
            "balancer.affinity_cookie", \.balancer.affinityCookie,
            .text(check: { !$0.isEmpty && !AffinityCookie.isValidName($0) ? "'\($0)' is not a cookie name: use letters, digits, '-' and '_'" : nil }),
            serve: .applied, agent: .unused, shown: "`\"\"` (off)", "name of the returning-user cookie set on a redirect to a spare or backup"),
        Key(
            "balancer.affinity_lifetime", \.balancer.affinityLifetime, .duration(), serve: .applied, agent: .unused,
            "how long that cookie sends a returning user back to the same server"),
        Key(
            "balancer.local_login_url", \.balancer.localLoginURL,
            .text(check: { !$0.isEmpty && !ConfigValueParsing.isAbsoluteHTTPURL($0) ? "'\($0)' is not an absolute http(s) URL" : nil }),
            serve: .applied, agent: .unused, shown: "`<scheme>://<own hostname><login_path>`", "where a login that stays here goes"),
        Key(
            "balancer.scheme", \.balancer.scheme, .text(check: { $0 == "https" || $0 == "http" ? nil : "'\($0)' is not http or https" }),
            serve: .applied, agent: .unused, "`http` or `https`, for redirects to spares"),
        Key(
            "balancer.login_path", \.balancer.loginPath,
            .text(check: { path in
                !path.hasPrefix("/") || path.hasPrefix("//") || path.contains(where: { $0.isWhitespace || $0 == "?" || $0 == "#" })
                    ? "'\(path)' must be a path starting with a single '/' without spaces, '?' or '#'" : nil
            }),
            serve: .applied, agent: .unused, "the path on the spare"),

        Key("http.listen", \.http.listen, .listen, serve: .restart, agent: .unused, "`host:port`, `[v6]:port` or `:port`"),
        Key("http.threads", \.http.threads, .integer(in: 1...256), serve: .restart, agent: .unused, "libmicrohttpd's thread pool"),
        Key("http.connection_limit", \.http.connectionLimit, .integer(in: 1...1_000_000), serve: .restart, agent: .unused, "connections at once"),
        Key(
            "http.connection_timeout", \.http.connectionTimeout, .duration(), serve: .restart, agent: .unused,
            "an idle or slow connection is closed after this"),
        Key(
            "http.per_address_limit", \.http.perAddressLimit, .integer(in: 0...1_000_000), serve: .restart, agent: .unused,
            "connections from one address at once"),
        Key(
            "http.connection_memory", \.http.connectionMemory, .integer(in: 4096...1_048_576), serve: .restart, agent: .unused,
            "bytes per connection for the request"),
        Key(
            "http.status_allow", \.http.statusAllow,
            .list(each: { (try? AddressAllowList(parsing: [$0])) == nil ? "'\($0)' is not an address or CIDR block (e.g. 10.0.0.0/8, ::1/128)" : nil }),
            serve: .restart, agent: .unused, "who may see `/status`, `/health*`, `/decisions`, `/metrics`"),
        Key(
            "http.trusted_proxies", \.http.trustedProxies,
            .list(each: { (try? TrustedProxies(parsing: [$0])) == nil ? "'\($0)' is not an address or CIDR block (e.g. 127.0.0.1, 10.0.0.0/8)" : nil }),
            serve: .restart, agent: .unused, "proxies (addresses or CIDR blocks) whose `X-Forwarded-For` names the client"),
        Key(
            "http.status_hosts", \.http.statusHosts,
            .list(each: { entry in
                entry != "*" && !HostsTable.isHostname(StatusHosts.normalized(entry)) && IPAddress(entry) == nil
                    ? "'\(entry)' is not a host name (e.g. lb1.example.edu) or *" : nil
            }),
            serve: .restart, agent: .unused, fallback: [],
            shown: "`localhost`, the own hostname from the hosts table, this machine's name, the `http.listen` host when a name",
            "`Host` names the status routes answer"),

        Key("agent.listen", \.agent.listen, .optionalListen, serve: .restart, agent: .restart, shown: "(unset)", "`serve` also answers as an agent here"),
        Key(
            "agent.haproxy_listen", \.agent.haproxyListen, .optionalListen, serve: .restart, agent: .restart, shown: "(unset)",
            "HAProxy's `agent-check` is answered here"),
        Key("agent.load_limit", \.agent.loadLimit, .number(in: 0.01...100_000), serve: .applied, agent: .applied, "the load average that counts as 100 %"),
        Key(
            "agent.user_load_limit", \.agent.userLoadLimit, .number(in: 1...100_000_000), serve: .applied, agent: .applied,
            "the active sessions that count as 100 %"),
        Key("agent.sessions_dir", \.agent.sessionsDirectory, .path, serve: .applied, agent: .applied, "a session is a file there modified within `active_window`"),
        Key("agent.active_window", \.agent.activeWindow, .duration(), serve: .applied, agent: .applied, "how long a session file counts as active"),
        Key("agent.load_file", \.agent.loadFile, .path, serve: .applied, agent: .applied, "the load averages, as `/proc/loadavg` writes them"),
        Key("agent.handler", \.agent.handler, .optionalPath, serve: .restart, agent: .restart, shown: "(unset)", "the UNIX socket of the site's application"),
        Key(
            "agent.handler_timeout", \.agent.handlerTimeout, .duration(), serve: .restart, agent: .restart,
            "no reply from the handler within this of the command's arrival"),
        Key(
            "agent.handler_connections", \.agent.handlerConnections, .integer(in: 1...256), serve: .restart, agent: .restart,
            "connections kept open to the handler"),
    ]

    /// The key called `name`.
    package static func key(_ name: String) -> Key? { keys.first { $0.name == name } }

    /// Reads every key (or those of `sections`; "" is the top level) into
    /// `config`, then the checks that span keys of those sections.
    static func read(into config: inout DaemonConfig, with reader: inout ConfigFieldReader, context: ConfigReadContext, sections: Set<String>? = nil) {
        for key in keys where sections?.contains(key.section) ?? true {
            key.read(&reader, &config, context)
        }
        let checks: [(section: String, key: String, problem: String?)] = [
            ("links", "links.backoff_initial", config.links.backoffInitial > config.links.backoffMax
                ? "\(config.links.backoffInitial.configText) is longer than links.backoff_max \(config.links.backoffMax.configText)" : nil),
            ("poll", "poll.timeout", config.poll.timeout > config.poll.interval
                ? "\(config.poll.timeout.configText) is longer than poll.interval \(config.poll.interval.configText): polls would overlap" : nil),
            ("poll", "poll.stale_after", config.poll.staleAfter <= config.poll.interval
                ? "\(config.poll.staleAfter.configText) must be longer than poll.interval \(config.poll.interval.configText), or every sample is stale before the next arrives"
                : nil),
            ("balancer", "balancer.readmit_load", config.balancer.readmitLoad > config.balancer.maxLoad
                ? "\(config.balancer.readmitLoad.configText) is above balancer.max_load \(config.balancer.maxLoad.configText): a spare could never be re-admitted" : nil),
        ]
        for check in checks where sections?.contains(check.section) ?? true {
            if let problem = check.problem { reader.problem(check.key, problem) }
        }
    }
}

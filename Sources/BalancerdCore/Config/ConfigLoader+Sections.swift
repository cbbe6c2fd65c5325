import Balancer
import Health
import Lonc

/// One function a section: each key read with the settings type's own default
/// as the fallback, then the checks that span keys. Keys are read in the order
/// `check` has always reported their problems in.
extension ConfigLoader {
    func readLinks(into links: inout LinkSettings, with reader: inout ConfigFieldReader) {
        links.port = reader.integer("links.port", default: links.port, in: 1...65535)
        links.connectTimeout = reader.duration("links.connect_timeout", default: links.connectTimeout)
        links.requestTimeout = reader.duration("links.request_timeout", default: links.requestTimeout)
        links.keepalive = reader.duration("links.keepalive", default: links.keepalive)
        links.maxAttempts = reader.integer("links.max_attempts", default: links.maxAttempts, in: 1...1_000_000)
        links.backoffInitial = reader.duration("links.backoff_initial", default: links.backoffInitial)
        links.backoffMax = reader.duration("links.backoff_max", default: links.backoffMax)
        links.pipelineDepth = reader.integer("links.pipeline_depth", default: links.pipelineDepth, in: 1...4096)
        links.maxLine = reader.integer("links.max_line", default: links.maxLine, in: 64...(16 << 20))
        links.requestIDs = reader.bool("links.request_ids", default: links.requestIDs)
        links.maxConnecting = reader.integer("links.max_connecting", default: links.maxConnecting, in: 1...100_000)
        if links.backoffInitial > links.backoffMax {
            reader.problem("links.backoff_initial", "\(links.backoffInitial.configText) is longer than links.backoff_max \(links.backoffMax.configText)")
        }
    }

    func readPoll(into poll: inout PollSettings, with reader: inout ConfigFieldReader) {
        poll.interval = reader.duration("poll.interval", default: poll.interval)
        poll.timeout = reader.duration("poll.timeout", default: poll.timeout)
        poll.staleAfter = reader.duration("poll.stale_after", default: poll.staleAfter)
        poll.history = reader.integer("poll.history", default: poll.history, in: 1...100_000)
        if poll.timeout > poll.interval {
            reader.problem("poll.timeout", "\(poll.timeout.configText) is longer than poll.interval \(poll.interval.configText): polls would overlap")
        }
        if poll.staleAfter <= poll.interval {
            reader.problem("poll.stale_after", "\(poll.staleAfter.configText) must be longer than poll.interval \(poll.interval.configText), or every sample is stale before the next arrives")
        }
    }

    func readBalancer(into balancer: inout BalancerSettings, with reader: inout ConfigFieldReader) {
        let modeText = reader.string("balancer.mode", default: balancer.mode.rawValue)
        if let mode = BalancerMode(rawValue: modeText) {
            balancer.mode = mode
        } else {
            reader.problem("balancer.mode", "'\(modeText)' is not a mode (expected overflow, always or round-robin)")
        }
        balancer.scheme = reader.string("balancer.scheme", default: balancer.scheme)
        if balancer.scheme != "https" && balancer.scheme != "http" {
            reader.problem("balancer.scheme", "'\(balancer.scheme)' is not http or https")
        }
        let loginPath = reader.string("balancer.login_path", default: balancer.loginPath)
        balancer.loginPath = loginPath
        if !loginPath.hasPrefix("/") || loginPath.hasPrefix("//") || loginPath.contains(where: { $0.isWhitespace || $0 == "?" || $0 == "#" }) {
            reader.problem("balancer.login_path", "'\(loginPath)' must be a path starting with a single '/' without spaces, '?' or '#'")
        }
        balancer.maxLoad = reader.number("balancer.max_load", default: balancer.maxLoad, in: 1...10_000)
        balancer.readmitLoad = reader.number("balancer.readmit_load", default: balancer.readmitLoad, in: 0...10_000)
        if balancer.readmitLoad > balancer.maxLoad {
            reader.problem(
                "balancer.readmit_load",
                "\(balancer.readmitLoad.configText) is above balancer.max_load \(balancer.maxLoad.configText): a spare could never be re-admitted")
        }
        balancer.spares = reader.list("balancer.spares", default: balancer.spares)
        balancer.backups = reader.list("balancer.backups", default: balancer.backups)
        balancer.instances = reader.list("balancer.instances", default: balancer.instances)
        balancer.affinityCookie = reader.string("balancer.affinity_cookie", default: balancer.affinityCookie)
        if !balancer.affinityCookie.isEmpty, !AffinityCookie.isValidName(balancer.affinityCookie) {
            reader.problem("balancer.affinity_cookie", "'\(balancer.affinityCookie)' is not a cookie name: use letters, digits, '-' and '_'")
        }
        balancer.affinityLifetime = reader.duration("balancer.affinity_lifetime", default: balancer.affinityLifetime)
        balancer.sameDomain = reader.bool("balancer.same_domain", default: balancer.sameDomain)
        balancer.loginCost = reader.number("balancer.login_cost", default: balancer.loginCost, in: 0...100)
        balancer.learnsLoginCost = reader.bool("balancer.learn_login_cost", default: balancer.learnsLoginCost)
        balancer.loadTimeConstant = reader.duration("balancer.load_time_constant", default: balancer.loadTimeConstant, allowZero: true)
        balancer.addressRate = reader.number("balancer.address_rate", default: balancer.addressRate, in: 0...1_000_000)
        balancer.addressBurst = reader.integer("balancer.address_burst", default: balancer.addressBurst, in: 1...1_000_000)
        balancer.slowStart = reader.duration("balancer.slow_start", default: balancer.slowStart, allowZero: true)
        balancer.localLoginURL = reader.string("balancer.local_login_url", default: balancer.localLoginURL)
        if !balancer.localLoginURL.isEmpty, !ConfigValueParsing.isAbsoluteHTTPURL(balancer.localLoginURL) {
            reader.problem("balancer.local_login_url", "'\(balancer.localLoginURL)' is not an absolute http(s) URL")
        }
    }

    func readHTTP(into http: inout HTTPSettings, with reader: inout ConfigFieldReader) {
        let listenText = reader.string("http.listen", default: http.listen.description)
        if let listen = ListenAddress(parsing: listenText) {
            http.listen = listen
        } else {
            reader.problem("http.listen", "'\(listenText)' is not host:port, [ipv6]:port or :port")
        }
        http.statusAllow = reader.list("http.status_allow", default: http.statusAllow)
        // The same parser the endpoint uses at start, so what `check` accepts, `serve` can use.
        for entry in http.statusAllow where (try? AddressAllowList(parsing: [entry])) == nil {
            reader.problem("http.status_allow", "'\(entry)' is not an address or CIDR block (e.g. 10.0.0.0/8, ::1/128)")
        }
        http.trustedProxies = reader.list("http.trusted_proxies", default: http.trustedProxies)
        for entry in http.trustedProxies where (try? TrustedProxies(parsing: [entry])) == nil {
            reader.problem("http.trusted_proxies", "'\(entry)' is not an address or CIDR block (e.g. 127.0.0.1, 10.0.0.0/8)")
        }
        // Empty: the defaults, filled in once the hosts table is read (`StatusHosts.defaults`).
        http.statusHosts = reader.list("http.status_hosts", default: [])
        for entry in http.statusHosts where entry != "*" && !HostsTable.isHostname(StatusHosts.normalized(entry)) && IPAddress(entry) == nil {
            reader.problem("http.status_hosts", "'\(entry)' is not a host name (e.g. lb1.example.edu) or *")
        }
        http.threads = reader.integer("http.threads", default: http.threads, in: 1...256)
        http.connectionLimit = reader.integer("http.connection_limit", default: http.connectionLimit, in: 1...1_000_000)
        http.connectionTimeout = reader.duration("http.connection_timeout", default: http.connectionTimeout)
        http.perAddressLimit = reader.integer("http.per_address_limit", default: http.perAddressLimit, in: 0...1_000_000)
        http.connectionMemory = reader.integer("http.connection_memory", default: http.connectionMemory, in: 4096...1_048_576)
    }

    func readAgent(into agent: inout DaemonConfig.Agent, with reader: inout ConfigFieldReader, resolve: (String) -> String) {
        if let listenText = reader.optionalString("agent.listen") {
            agent.listen = ListenAddress(parsing: listenText)
            if agent.listen == nil { reader.problem("agent.listen", "'\(listenText)' is not host:port, [ipv6]:port or :port") }
        }
        if let listenText = reader.optionalString("agent.haproxy_listen") {
            agent.haproxyListen = ListenAddress(parsing: listenText)
            if agent.haproxyListen == nil { reader.problem("agent.haproxy_listen", "'\(listenText)' is not host:port, [ipv6]:port or :port") }
        }
        agent.loadLimit = reader.number("agent.load_limit", default: agent.loadLimit, in: 0.01...100_000)
        agent.userLoadLimit = reader.number("agent.user_load_limit", default: agent.userLoadLimit, in: 1...100_000_000)
        agent.sessionsDirectory = resolve(reader.string("agent.sessions_dir", default: agent.sessionsDirectory))
        agent.activeWindow = reader.duration("agent.active_window", default: agent.activeWindow)
        agent.loadFile = resolve(reader.string("agent.load_file", default: agent.loadFile))
        agent.handler = reader.optionalString("agent.handler").map(resolve)
        agent.handlerTimeout = reader.duration("agent.handler_timeout", default: agent.handlerTimeout)
        agent.handlerConnections = reader.integer("agent.handler_connections", default: agent.handlerConnections, in: 1...256)
    }
}

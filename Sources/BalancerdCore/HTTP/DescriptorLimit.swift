import Foundation

/// Each peer link and each HTTP connection holds a file descriptor, and a
/// daemon often starts with a soft limit of 1,024: far below 10,000 peers or
/// `http.connection_limit`. The soft limit is raised toward the hard one
/// (which only an administrator can raise), never lowered.
enum DescriptorLimit {
    /// Descriptors kept for relay sockets, the delayed queue, logs and the listeners, beyond links and connections.
    static let reserve = 1024
    /// `RLIMIT_NOFILE` (an enum on glibc, an Int32 elsewhere).
    private static let resource = Int32(RLIMIT_NOFILE.rawValue)
    /// `RLIM_INFINITY` (all bits set; the C macro does not import into Swift).
    private static let unlimited = rlim_t.max

    /// Raises the soft `RLIMIT_NOFILE` so `connections` more descriptors fit,
    /// as far as the hard limit allows. Returns the soft limit now in force.
    @discardableResult
    static func raise(toServe connections: Int) -> Int {
        raise(to: max(0, connections) + reserve).soft
    }

    /// Raises the soft limit to `wanted` or as close as the hard limit allows.
    static func raise(to wanted: Int) -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (0, 0) }
        let target = limit.rlim_max == unlimited ? rlim_t(wanted) : min(rlim_t(wanted), limit.rlim_max)
        if limit.rlim_cur != unlimited, limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        func count(_ value: rlim_t) -> Int { value == unlimited ? Int.max : Int(value) }
        return (count(limit.rlim_cur), count(limit.rlim_max))
    }

    /// Makes room for each peer's link and relay socket (plus the reserve) before any link
    /// opens: raises the soft limit, or throws naming the limit and the count
    /// when even the hard limit is too low, rather than fail thousands of
    /// connects later with "too many open files".
    static func ensure(peers: Int, relaySockets: Bool, hostsTable: String) throws(DescriptorLimitError) {
        let perPeer = relaySockets ? 2 : 1
        let wanted = peers * perPeer + reserve
        let (soft, hard) = raise(to: wanted)
        guard soft >= wanted else {
            throw DescriptorLimitError(
                description: "\(hostsTable) has \(peers) peers: their \(relaySockets ? "links and relay sockets" : "links") need \(wanted) open files (\(perPeer) per peer plus \(reserve) for the rest), "
                    + "but the open-files limit (RLIMIT_NOFILE) is \(soft) and its hard limit \(hard) cannot be passed without privilege; "
                    + "raise it (LimitNOFILE= in the systemd unit, or ulimit -Hn)\(relaySockets ? ", set relay_sockets: false if no local program sends over the links," : "") or split the hosts table between instances")
        }
    }
}

/// The hosts table needs more open files than this process may have: the
/// sentence names the table, the peers, the files they need and the limits.
struct DescriptorLimitError: Error, CustomStringConvertible {
    let description: String
}

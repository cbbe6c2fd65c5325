import Foundation

/// Each HTTP connection holds a file descriptor, and a daemon often starts with
/// a soft limit of 1,024: far below `http.connection_limit`, so the campus
/// behind one address would meet "too many open files" long before the
/// configured limits. The soft limit is raised toward the hard one (which only
/// an administrator can raise), never lowered.
enum DescriptorLimit {
    /// Descriptors kept for links, relay sockets, the delayed queue and logs, beyond the connections.
    static let reserve = 1024
    /// `RLIM_INFINITY` (all bits set; the C macro does not import into Swift).
    private static let unlimited = rlim_t.max

    /// Raises the soft `RLIMIT_NOFILE` so `connections` more descriptors fit,
    /// as far as the hard limit allows. Returns the soft limit now in force.
    @discardableResult
    static func raise(toServe connections: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let wanted = rlim_t(max(0, connections)) + rlim_t(reserve)
        let target = limit.rlim_max == unlimited ? wanted : min(wanted, limit.rlim_max)
        if limit.rlim_cur != unlimited, limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur == unlimited ? Int.max : Int(limit.rlim_cur)
    }
}

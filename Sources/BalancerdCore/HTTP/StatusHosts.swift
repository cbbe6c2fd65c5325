import Foundation

/// The `Host` names the status routes answer (`http.status_hosts`), against
/// DNS rebinding: a page at `http://evil.example:8080/` whose name the attacker
/// then points at 127.0.0.1 runs in an operator's browser, on an allowed
/// address, and its requests say `Host: evil.example:8080`. Refused here, they
/// read nothing.
///
/// Always accepted, as no rebinding can produce them: an IP address (the
/// browser's origin is then that address itself), `localhost` and names under
/// `.localhost` (browsers resolve them to loopback without DNS), and no `Host`
/// at all (HTTP/1.0 tools; every browser sends one). `*` accepts any name.
public struct StatusHosts: Sendable, Equatable {
    let names: Set<String>
    let anyName: Bool

    /// `entries`: host names (any case, a trailing dot ignored), or `*`.
    public init(_ entries: [String]) {
        anyName = entries.contains("*")
        names = Set(entries.map(Self.normalized))
    }

    /// The names a deployment answers unless told otherwise: this server's
    /// hostname in the hosts table, this machine's name, and the listen
    /// address when it is a name (nil or empty ones skipped).
    public static func defaults(ownHostname: String?, listenHost: String?) -> [String] {
        var host = [CChar](repeating: 0, count: 256)
        let machine = gethostname(&host, host.count) == 0 ? String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
        var seen = Set<String>()
        return ["localhost", ownHostname, machine, listenHost.flatMap { IPAddress($0) == nil ? $0 : nil }]
            .compactMap { $0.map(normalized) }.filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    /// True when a request with this `Host` header may read the status routes.
    public func allows(_ host: String?) -> Bool {
        guard !anyName, let host, !host.isEmpty else { return true }
        let name = Self.name(ofHostHeader: host)
        if IPAddress(name) != nil || name == "localhost" || name.hasSuffix(".localhost") { return true }
        return names.contains(name)
    }

    /// `Lb1.Example.edu.:8080` → `lb1.example.edu`; `[::1]:8080` → `::1`.
    static func name(ofHostHeader host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<close])
        }
        let name = host.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? host
        return normalized(name)
    }

    static func normalized(_ name: String) -> String {
        let lowered = name.lowercased()
        return lowered.hasSuffix(".") ? String(lowered.dropLast()) : lowered
    }
}

/// Who sent a request: the connection's peer, or, when that peer is one of
/// `http.trusted_proxies`, the address it forwarded in `X-Forwarded-For` (what
/// nginx's `real_ip_recursive on` and HAProxy's `option forwardfor` give).
///
///     client ──▶ nginx 127.0.0.1 ──X-Forwarded-For: 203.0.113.7──▶ balancerd
///                                  client address: 203.0.113.7
///
/// The header is read right to left: each hop that is a trusted proxy passes
/// on to the one before it, and the first that is not is the client. What an
/// untrusted peer writes in the header is never read, so a client cannot name
/// itself an operator: a forged `X-Forwarded-For: 127.0.0.1` sent through nginx
/// ends up left of the address nginx appends, and is never reached.
///
/// `X-Forwarded-For`, not the PROXY protocol: libmicrohttpd reads the request
/// from the first byte of the connection and has no hook for a header before
/// it, while both nginx (`proxy_set_header X-Forwarded-For
/// $proxy_add_x_forwarded_for`) and HAProxy (`option forwardfor`) send this one.
public struct TrustedProxies: Sendable, Equatable {
    let proxies: AddressAllowList

    /// No proxy is trusted: every client is the connection's peer.
    public init() { proxies = AddressAllowList() }

    /// `127.0.0.1`, `10.0.0.0/8`, `::1/128`; throws naming the first bad entry.
    public init(parsing entries: [String]) throws(AllowListError) {
        do {
            proxies = try AddressAllowList(parsing: entries)
        } catch {
            throw AllowListError(entry: error.entry, key: "http.trusted_proxies")
        }
    }

    public var isEmpty: Bool { proxies.blocks.isEmpty }

    /// True when `peer` is a trusted proxy (only then is `X-Forwarded-For` read).
    public func trusts(_ peer: IPAddress?) -> Bool { proxies.allows(peer) }

    /// The client address of a request from `peer` carrying these `X-Forwarded-For`
    /// header values (in the order received). A trusted proxy that forwards no
    /// header speaks for itself (its own health check); one whose header cannot be
    /// read leaves the client unknown (nil), which no allow list admits.
    public func client(peer: IPAddress?, forwardedFor headers: [String]) -> IPAddress? {
        guard let peer, proxies.allows(peer) else { return peer }
        let hops = headers.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        guard !hops.isEmpty else { return peer }
        var client = peer
        for hop in hops.reversed() {
            guard let address = Self.address(String(hop)) else { return nil }
            client = address
            if !proxies.allows(address) { return address }
        }
        return client
    }

    /// `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::7`, `[2001:db8::7]:4711`.
    static func address(_ hop: String) -> IPAddress? {
        let text = hop.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isASCIIDigit)) else { return nil }
            return IPAddress(String(text[text.index(after: text.startIndex)..<close]))
        }
        if let colon = text.firstIndex(of: ":"), text[text.index(after: colon)...].allSatisfy(\.isASCIIDigit) {
            return IPAddress(String(text[..<colon]))
        }
        return IPAddress(text)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

import CMicroHTTPD
import CShims
import Foundation

// What the server reads from a request beyond its target and cookies: who the
// client is behind a proxy, and every value of a header that may come twice.

/// The client address of the request on `connection`: its peer, or behind a
/// trusted proxy the address in `X-Forwarded-For` (`TrustedProxies.client`).
/// The one place a request's client is found: what `http.status_allow`
/// checks (`HTTPRequest.client`), and what any per-address limit must count.
/// The headers are read only when the peer is a trusted proxy.
func clientAddress(of connection: OpaquePointer, behind proxies: TrustedProxies) -> IPAddress? {
    var storage = sockaddr_storage()
    let peer = balancerd_mhd_client_address(connection, &storage) > 0 ? IPAddress(storage: storage) : nil
    guard proxies.trusts(peer) else { return peer }
    return proxies.client(peer: peer, forwardedFor: headerValues(connection, named: "X-Forwarded-For"))
}

/// Every value of the header `name` (any case), in the order received: a
/// header sent twice is two values, which `MHD_lookup_connection_value` hides.
func headerValues(_ connection: OpaquePointer, named name: String) -> [String] {
    var wanted = (name: name, values: [String]())
    _ = withUnsafeMutablePointer(to: &wanted) { pointer in
        MHD_get_connection_values(connection, .HEADER_KIND, collectHeader, pointer)
    }
    return wanted.values
}

private func collectHeader(
    _ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let cls, let key, let value else { return .YES }
    let wanted = cls.assumingMemoryBound(to: (name: String, values: [String]).self)
    if strcasecmp(key, wanted.pointee.name) == 0 { wanted.pointee.values.append(String(cString: value)) }
    return .YES
}

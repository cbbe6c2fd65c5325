import CMicroHTTPD
import CShims
import Foundation

/// The client address of the request on `connection`: its peer, or behind a
/// trusted proxy the address in `X-Forwarded-For` (`TrustedProxies.client`).
/// The one place a request's client is found: what `http.status_allow`
/// checks (`HTTPRequest.client`), and what any per-address limit must count.
/// The headers are read only when the peer is a trusted proxy.
func clientAddress(of connection: OpaquePointer, behind proxies: TrustedProxies) -> IPAddress? {
    var storage = sockaddr_storage()
    let peer = balancerd_mhd_client_address(connection, &storage) > 0 ? IPAddress(storage: storage) : nil
    guard proxies.trusts(peer) else { return peer }
    return proxies.client(peer: peer, forwardedFor: forwardedFor(connection))
}

/// Every `X-Forwarded-For` header's value, in the order received.
private func forwardedFor(_ connection: OpaquePointer) -> [String] {
    var values: [String] = []
    _ = withUnsafeMutablePointer(to: &values) { pointer in
        MHD_get_connection_values(connection, .HEADER_KIND, collectForwardedFor, pointer)
    }
    return values
}

private func collectForwardedFor(
    _ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> MHD_Result {
    if let cls, let key, let value, strcasecmp(key, "X-Forwarded-For") == 0 {
        cls.assumingMemoryBound(to: [String].self).pointee.append(String(cString: value))
    }
    return .YES
}

import Lonc
import Foundation
import BalancerdCore

/// Endpoint state with fixed answers, for router and server tests.
final class FixedEndpointState: EndpointState {
    let login = Locked(LoginTarget.redirect(id: "msua2", base: "https://bistromath.lite.msu.edu/login"))
    let counted = Locked<[String]>([])
    /// The `Cookie` header of every login decided.
    let cookies = Locked<[String?]>([])
    var isReady: Bool { login.withLock { $0 != .unavailable } }
    func decideLogin(cookies: String?, client: ClientKey?) -> LoginTarget {
        self.cookies.withLock { $0.append(cookies) }
        return login.withLock { $0 }
    }
    func healthJSON(query: String?) -> [UInt8]? { Array(#"{"status":"ok"}"#.utf8) }
    func decisionsJSON() -> [UInt8] { Array(#"{"decisions":[]}"#.utf8) }
    func statusPageHTML(query: String?) -> [UInt8] { Array("<!doctype html><title>status</title>".utf8) }
    func metricsText() -> [UInt8] { Array("# TYPE up gauge\nup 1\n".utf8) }
    func countRequest(route: Route, status: Int) { counted.withLock { $0.append("\(route.rawValue) \(status)") } }
}

/// A blocking TCP socket connected to 127.0.0.1:port, with a 5 s receive
/// timeout; `from`: the loopback address it comes from (127.0.0.0/8 is all this host's).
func connectedSocket(port: Int, from source: String? = nil) throws -> Int32 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EMFILE) }
    if let source {
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, source, &local.sin_addr)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else {
            close(descriptor)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EADDRNOTAVAIL)
        }
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard connected == 0 else {
        close(descriptor)
        throw POSIXError(.ECONNREFUSED)
    }
    return descriptor
}

/// Sends raw bytes to 127.0.0.1:port and returns the whole response (the request asks the server to close).
func rawHTTP(port: Int, _ request: String, from source: String? = nil) throws -> String {
    let descriptor = try connectedSocket(port: port, from: source)
    defer { close(descriptor) }
    return exchange(request, on: descriptor)
}

/// Sends `request` on a connected socket and reads until the other side closes (or the receive timeout).
func exchange(_ request: String, on descriptor: Int32) -> String {
    let bytes = Array(request.utf8)
    _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        response += chunk[..<count]
    }
    return String(decoding: response, as: UTF8.self)
}

/// The value of a header in a raw response, or nil.
func header(_ name: String, in response: String) -> String? {
    for line in response.components(separatedBy: "\r\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        if line[..<colon].lowercased() == name.lowercased() {
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }
    return nil
}

/// The status code of a raw response.
func statusCode(of response: String) -> Int? {
    response.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
}

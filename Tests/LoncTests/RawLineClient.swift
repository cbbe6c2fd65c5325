import Foundation
import TestSupport

/// A TCP client for tests that speak to the agent byte by byte, the way a
/// misbehaving peer would. Every read has a deadline, and blocks a thread of
/// its own (`blocking`), never one of Swift concurrency's shared threads: the
/// agent's application answers from a task, which needs one of those.
/// Unchecked Sendable: one test uses it, one call at a time.
final class RawLineClient: @unchecked Sendable {
    let descriptor: Int32
    private var buffer: [UInt8] = []

    init(port: Int, host: String = "127.0.0.1") throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(descriptor) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func send(bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next line, or nil at close or after the 30 s read deadline (a bound for a broken agent; a busy machine answers well within it).
    func readLine() async -> String? { await blocking { self.readLineNow() } }

    /// `readLine` on the calling thread: for a test's own `Thread`, never a concurrency thread.
    func readLineNow() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            buffer += chunk[..<count]
        }
    }

    /// True when the peer closed the connection (read returns 0) within the deadline.
    func isClosedByPeer() async -> Bool { await blocking { self.isClosedByPeerNow() } }

    private func isClosedByPeerNow() -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }

    /// Runs the handshake; returns the challenge's answer.
    func handshake(agentID: String) async -> [String?] {
        send("init\n")
        let challenge = await readLine()
        send((challenge ?? "") + "\n")
        let ok = await readLine()
        send("sethost:\(agentID)\nversion:test\n")
        return [challenge, ok, await readLine(), await readLine()]
    }
}

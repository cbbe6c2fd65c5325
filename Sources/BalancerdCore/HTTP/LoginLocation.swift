/// Builds the `Location` of a login redirect:
///
///     <base><rest>[?<query>]      base = scheme://<hostname from the hosts table><login_path>
///                                        (or local_login_url)
///
/// The host comes only from `base`, which the daemon builds from the hosts
/// table; the request contributes only the path rest and the query, and every
/// byte of those that is not a plain URL character is percent-encoded (CR and
/// LF above all, so no header can be injected). Because `base` always ends in
/// a path, nothing in `rest` can change the authority.
public enum LoginLocation {
    /// The redirect URL for a login whose path after `/login` is `rest`.
    public static func build(base: String, rest: String, query: String?) -> String {
        if rest.isEmpty, query?.isEmpty ?? true { return base }
        var location = base
        if location.hasSuffix("/"), rest.hasPrefix("/") { location.removeLast() }
        location += encode(rest, allowing: pathCharacters)
        if let query, !query.isEmpty {
            location += "?" + encode(query, allowing: queryCharacters)
        }
        return location
    }

    /// RFC 3986 `pchar` and `/`: unreserved, sub-delims, `:` and `@`.
    private static let pathCharacters: [Bool] = table(extra: "/:@")
    /// A query may also hold `?`.
    private static let queryCharacters: [Bool] = table(extra: "/:@?")

    private static func table(extra: String) -> [Bool] {
        var allowed = [Bool](repeating: false, count: 256)
        let plain = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=" + extra
        for byte in plain.utf8 { allowed[Int(byte)] = true }
        return allowed
    }

    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Percent-encodes every byte not allowed; an existing `%XX` escape is kept,
    /// a `%` not followed by two hex digits becomes `%25`.
    static func encode(_ text: String, allowing allowed: [Bool]) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) {
                out += bytes[index...(index + 2)]
                index += 3
                continue
            }
            if allowed[Int(byte)] {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}

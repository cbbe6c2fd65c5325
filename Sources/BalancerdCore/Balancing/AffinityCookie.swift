/// The returning-user cookie (`balancer.affinity_cookie`, opt-in): the seed's
/// access servers cache what their users open, so a user who comes back
/// within hours is best served by the server that already holds their course.
/// Set on every redirect to a spare or backup; its value is only ever a
/// candidate to the policy, which ignores one that names no eligible server.
struct AffinityCookie: Sendable, Equatable {
    /// The cookie's name.
    let name: String
    /// How long the browser keeps it, in seconds.
    let maxAge: Int

    /// The cookie's value in a request's `Cookie` header, if there.
    func value(in header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let trimmed = pair.drop { $0 == " " || $0 == "\t" }
            guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
            var value = trimmed[trimmed.index(after: equals)...]
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
            return String(value)
        }
        return nil
    }

    /// The `Set-Cookie` value naming server `id`, or nil when the id holds a
    /// byte a cookie value may not (then no cookie is set).
    func setCookie(naming id: String) -> String? {
        guard !id.isEmpty, id.utf8.allSatisfy(Self.isValueByte) else { return nil }
        return "\(name)=\(id); Max-Age=\(maxAge); Path=/login; HttpOnly; SameSite=Lax"
    }

    /// RFC 6265 `cookie-octet`.
    private static func isValueByte(_ byte: UInt8) -> Bool {
        byte == 0x21 || (0x23...0x2B).contains(byte) || (0x2D...0x3A).contains(byte) || (0x3C...0x5B).contains(byte)
            || (0x5D...0x7E).contains(byte)
    }

    /// A name the config may give: letters, digits, `-` and `_`.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }
}

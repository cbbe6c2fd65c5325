import BalancerdCore
import Foundation

/// Input: a base selector byte, then the path rest and the query separated by
/// a 0 byte. The Location starts with the base, adds only URL characters (no
/// CR, LF, space, `#` or non-ASCII), keeps `%` only before two hex digits, and
/// has no `?` before the query: nothing from the request reaches the authority
/// or another header. Parsed back, the host is the base's, and a rest without
/// a `%` of its own comes back byte for byte.
public enum LoginLocationFuzz {
    static let bases = [
        "https://bistromath.lite.msu.edu/adm/login", "http://lb1.localhost:8080/", "https://[2001:db8::7]/login/",
    ]
    static let allowed = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?%".utf8))

    static func run(_ bytes: [UInt8]) -> [String] {
        var input = FuzzInput(bytes)
        let base = bases[Int(input.byte()) % bases.count]
        let rest = String(decoding: input.bytes(upTo: 0), as: UTF8.self)
        let queryBytes = input.rest()
        let query = queryBytes.isEmpty ? nil : String(decoding: queryBytes, as: UTF8.self)
        let location = LoginLocation.build(base: base, rest: rest, query: query)

        var broken: [String] = []
        let trimmedBase = base.hasSuffix("/") && rest.hasPrefix("/") ? String(base.dropLast()) : base
        guard location.hasPrefix(trimmedBase) else { return ["\(location.debugDescription) does not start with \(base)"] }
        let added = Array(location.utf8.dropFirst(trimmedBase.utf8.count))
        if let bad = added.first(where: { !allowed.contains($0) }) {
            broken.append("byte \(bad) added unencoded: \(location.debugDescription)")
        }
        for (index, byte) in added.enumerated() where byte == UInt8(ascii: "%") {
            let hex = added.dropFirst(index + 1).prefix(2)
            if hex.count < 2 || !hex.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 102) }) {
                broken.append("% without two hex digits: \(location.debugDescription)")
            }
        }
        let questionMarks = added.indices.filter { added[$0] == UInt8(ascii: "?") }
        if let first = questionMarks.first, query?.isEmpty ?? true || added[..<first].count != LoginLocation.build(base: base, rest: rest, query: nil).utf8.count - trimmedBase.utf8.count {
            broken.append("a ? in the path: \(location.debugDescription)")
        }
        let components = URLComponents(string: location)
        let baseComponents = URLComponents(string: base)
        if components?.host != baseComponents?.host { broken.append("host \(String(describing: components?.host)) in \(location.debugDescription)") }
        if !rest.contains("%"), rest.hasPrefix("/"), components?.path != (baseComponents?.path ?? "") .dropLastSlash + rest {
            broken.append("rest \(rest.debugDescription) lost in \(location.debugDescription)")
        }
        return broken
    }
}

extension String {
    fileprivate var dropLastSlash: String { hasSuffix("/") ? String(dropLast()) : self }
}

/// The name of a file in `<state_dir>/delayed/`, and the peer it is for
/// (docs/REFERENCE.md, "Local relay and delayed messages"):
///
///     001764019200.123456789.9f2c41d07a3be815.x%2Ea1   balancerd's own: <unix time>.<nanoseconds>.<instance>.<peer id, encoded>
///     001764019200.123456789.9f2c41d07a3be815.x.a1     the same, as earlier builds wrote it (still read)
///     zz_lonnet_1.msua2                                 dropped in by another tool
///
/// The peer is the part after the last `.`, percent-decoded. balancerd writes
/// every byte of the id other than a letter, a digit, `-` or `_` as `%XX`, so
/// the peer part of its names holds no `.`, and the id `x.a1` (`x%2Ea1`) can
/// never be read as `a1`. Earlier builds wrote the id as it is; their names
/// are recognised by their fixed front (12 digits, 9 digits, 16 hex digits)
/// and a dot in what follows, which the encoded form never has: everything
/// after the front is then the id. A tool dropping a file in for an id with a
/// dot writes the dot `%2E`. Hidden names (a leading `.`: temporary files) are
/// not messages.
enum DelayedFileName {
    /// The name for a message stamped `seconds.nanoseconds` by queue `instance`, for `peer`.
    static func make(seconds: Int, nanoseconds: Int, instance: String, peer: String) -> String {
        "\(digits(seconds, width: 12)).\(digits(nanoseconds, width: 9)).\(instance).\(encode(peer))"
    }

    /// The peer a file named `name` is for; nil for hidden names, names without
    /// a peer part, and a peer part that is not valid percent-encoded UTF-8.
    static func peer(of name: String) -> String? {
        guard !name.hasPrefix(".") else { return nil }
        if let earlier = earlierBuildsPeer(name), earlier.contains(".") { return earlier }
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let encoded = name[name.index(after: dot)...]
        guard !encoded.isEmpty else { return nil }
        return decode(encoded)
    }

    /// `id` with every byte but `A-Z a-z 0-9 - _` as `%XX`.
    static func encode(_ id: String) -> String {
        var encoded = ""
        for byte in id.utf8 {
            if isPlain(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return encoded
    }

    /// The id in a peer part; nil for a `%` not followed by two hex digits or bytes that are not UTF-8.
    static func decode(_ part: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = part.utf8[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.popFirst().flatMap(hexValue), let low = utf8.popFirst().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// `<12 digits>.<9 digits>.<16 hex>.<rest>`: the rest, as builds before the encoding wrote the id.
    private static func earlierBuildsPeer(_ name: String) -> String? {
        let utf8 = Array(name.utf8)
        let front = 12 + 1 + 9 + 1 + 16 + 1
        guard utf8.count > front else { return nil }
        for (index, byte) in utf8[..<front].enumerated() {
            let fits: Bool
            switch index {
            case 12, 22, 39: fits = byte == UInt8(ascii: ".")
            case 0..<12, 13..<22: fits = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            default: fits = hexValue(byte) != nil && !(UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
            }
            guard fits else { return nil }
        }
        return String(decoding: utf8[front...], as: UTF8.self)
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func digits(_ value: Int, width: Int) -> String { String(value).leftPadded(to: width) }
}

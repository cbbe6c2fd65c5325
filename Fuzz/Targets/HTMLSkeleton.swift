/// The tags of an HTML page and their attribute names, as a browser's tokenizer
/// finds them (the HTML standard's tokenization, § 13.2.5, reduced to what
/// decides structure): code point by code point, so a `"` followed by a
/// combining mark still ends an attribute value; `<title>`, `<textarea>`,
/// `<script>` and `<style>` read as text up to their own end tag; comments,
/// the doctype and bogus comments run to their `>` (`-->` for a comment).
///
///     <input name="q" value="x" autofocus>   →   ["<input name value autofocus>"]
///
/// Attribute values and text are dropped: two renderings of one page whose
/// inputs differ only in text have the same skeleton, unless an input added a
/// tag or an attribute.
enum HTMLSkeleton {
    static func of(_ html: String) -> [String] {
        var tokenizer = Tokenizer(Array(html.unicodeScalars))
        return tokenizer.run()
    }

    private struct Tokenizer {
        let input: [Unicode.Scalar]
        var position = 0
        var tokens: [String] = []

        init(_ input: [Unicode.Scalar]) { self.input = input }

        static let rawText: Set<String> = ["title", "textarea", "script", "style"]

        var next: Unicode.Scalar? { position < input.count ? input[position] : nil }

        mutating func take() -> Unicode.Scalar? {
            guard position < input.count else { return nil }
            defer { position += 1 }
            return input[position]
        }

        static func isSpace(_ scalar: Unicode.Scalar) -> Bool { ["\t", "\n", "\u{0C}", "\r", " "].contains(scalar) }
        static func isAlpha(_ scalar: Unicode.Scalar) -> Bool { ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) }
        static func lowered(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
            ("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value + 32) ?? scalar : scalar
        }

        mutating func run() -> [String] {
            while let scalar = take() {
                guard scalar == "<", let following = next else { continue }
                if following == "!" {
                    position += 1
                    markupDeclaration()
                } else if following == "/" {
                    position += 1
                    if let first = next, Self.isAlpha(first) {
                        let name = tag()
                        tokens.append("</\(name.name)>")
                    } else if next == ">" {
                        position += 1
                    } else {
                        skip(past: ">")
                    }
                } else if following == "?" {
                    skip(past: ">")
                } else if Self.isAlpha(following) {
                    let tag = tag()
                    tokens.append("<" + ([tag.name] + tag.attributes).joined(separator: " ") + ">")
                    if Self.rawText.contains(tag.name) { skipRawText(until: tag.name) }
                }
            }
            return tokens
        }

        /// A tag name and its attribute names, up to and including its `>`.
        mutating func tag() -> (name: String, attributes: [String]) {
            var name = ""
            var attributes: [String] = []
            while let scalar = next, !Self.isSpace(scalar), scalar != "/", scalar != ">" {
                name.unicodeScalars.append(Self.lowered(scalar))
                position += 1
            }
            while let scalar = take() {
                if Self.isSpace(scalar) || scalar == "/" { continue }
                if scalar == ">" { break }
                // An attribute name: its first character may be `=`.
                var attribute = String(Character(Self.lowered(scalar)))
                while let more = next, !Self.isSpace(more), more != "/", more != ">", more != "=" {
                    attribute.unicodeScalars.append(Self.lowered(more))
                    position += 1
                }
                attributes.append(attribute)
                while let space = next, Self.isSpace(space) { position += 1 }
                guard next == "=" else { continue }
                position += 1
                while let space = next, Self.isSpace(space) { position += 1 }
                switch next {
                case "\"": position += 1; skip(past: "\"")
                case "'": position += 1; skip(past: "'")
                case ">", nil: break
                default:
                    while let value = next, !Self.isSpace(value), value != ">" { position += 1 }
                }
            }
            return (name, attributes)
        }

        /// After `<!`: a comment to `-->`, or a doctype or bogus comment to `>`.
        mutating func markupDeclaration() {
            if position + 1 < input.count, input[position] == "-", input[position + 1] == "-" {
                position += 2
                while position < input.count {
                    if input[position] == ">", position >= 2, input[position - 1] == "-", input[position - 2] == "-" { break }
                    position += 1
                }
                position += 1
            } else {
                skip(past: ">")
            }
        }

        mutating func skip(past end: Unicode.Scalar) {
            while let scalar = take(), scalar != end {}
        }

        /// Text up to `</name` followed by a space, `/` or `>` (any case); the end tag itself is read by `run`.
        mutating func skipRawText(until name: String) {
            let closing = Array("</".unicodeScalars) + Array(name.unicodeScalars)
            while position < input.count {
                let end = position + closing.count
                if end <= input.count, zip(input[position..<end], closing).allSatisfy({ Self.lowered($0) == $1 }),
                    end == input.count || Self.isSpace(input[end]) || input[end] == "/" || input[end] == ">"
                {
                    return
                }
                position += 1
            }
        }
    }
}

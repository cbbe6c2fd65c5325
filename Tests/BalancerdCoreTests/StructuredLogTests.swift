import Foundation
import Testing

/// swift-log's structured logging: a log call's message is constant and its
/// values go in metadata, so logs can be searched and counted by message.
@Suite("structured logs")
struct StructuredLogTests {
    @Test("no log call in Sources/ puts a value into its message")
    func constantMessages() throws {
        let call = try Regex(#"\b(logger|log)\.(trace|debug|info|notice|warning|error|critical)\(\s*"((?:[^"\\]|\\.)*)""#)
        var calls = 0
        var interpolated: [String] = []
        let sources = repositoryRoot + "/Sources"
        let enumerator = try #require(FileManager.default.enumerator(atPath: sources))
        for case let path as String in enumerator where path.hasSuffix(".swift") {
            let text = try String(contentsOfFile: sources + "/" + path, encoding: .utf8)
            for match in text.matches(of: call) {
                calls += 1
                if let message = match.output[3].substring, message.contains("\\(") { interpolated.append("\(path): \(message)") }
            }
        }
        #expect(calls > 40, "the pattern still finds the log calls")
        #expect(interpolated.isEmpty, "\(interpolated.joined(separator: "\n"))")
    }
}

import Foundation
import FuzzTargets
import Testing

/// Every input of every fuzz target's corpus (`Fuzz/Corpus/<target>/`: the
/// seeds, and each crash the fuzzer found, kept as a regression) replayed
/// through the target in a normal build: `make test`'s smoke run of `make fuzz`.
@Suite("fuzz corpora")
struct FuzzCorpusTests {
    static let corpora = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fuzz/Corpus").standardizedFileURL

    @Test("every corpus input keeps its target's invariants", arguments: FuzzTarget.allCases)
    func replay(target: FuzzTarget) throws {
        let folder = Self.corpora.appendingPathComponent(target.rawValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(!names.isEmpty, "no seed in \(folder.path)")
        for name in names {
            let input = try [UInt8](Data(contentsOf: folder.appendingPathComponent(name)))
            let broken = target.run(input)
            #expect(broken.isEmpty, "\(target.rawValue)/\(name): \(broken.joined(separator: "; "))")
        }
    }
}

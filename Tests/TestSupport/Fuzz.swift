import Foundation

/// A seeded random generator (SplitMix64) for the fuzz tests: the same seed
/// gives the same inputs on every machine, so a failure names its seed and
/// iteration and can be replayed exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Starts the sequence at `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Fuzzing budget and seed. `make test` runs `defaultCount` inputs per fuzzer;
/// `make soak` sets `BALANCERD_FUZZ_ITERATIONS=1000000`. `BALANCERD_FUZZ_SEED`
/// replays a reported failure.
public enum Fuzz {
    /// Inputs to try: `BALANCERD_FUZZ_ITERATIONS` when set, else `defaultCount`.
    public static func iterations(default defaultCount: Int) -> Int {
        ProcessInfo.processInfo.environment["BALANCERD_FUZZ_ITERATIONS"].flatMap(Int.init) ?? defaultCount
    }

    /// The seed: `BALANCERD_FUZZ_SEED` when set, else a fixed one per fuzzer.
    public static func seed(_ fixed: UInt64) -> UInt64 {
        ProcessInfo.processInfo.environment["BALANCERD_FUZZ_SEED"].flatMap { UInt64($0) } ?? fixed
    }

    /// Bytes a parser of text lines finds interesting, weighted towards separators.
    public static let interestingBytes: [UInt8] = Array(":[]#.\r\n\n\t -_%/\\@?0123456789abcAZ".utf8) + [0, 0x7F, 0x80, 0xC3, 0xA9, 0xE2, 0x80, 0xA8, 0xFF]

    /// `count` random bytes: half from `interestingBytes`, half uniform.
    public static func bytes<G: RandomNumberGenerator>(_ count: Int, using rng: inout G) -> [UInt8] {
        (0..<count).map { _ in
            Bool.random(using: &rng) ? interestingBytes.randomElement(using: &rng) ?? 0 : UInt8.random(in: 0...255, using: &rng)
        }
    }

    /// `text` with a few random edits: bytes replaced, inserted, deleted, a span duplicated, or cut short.
    public static func mutate<G: RandomNumberGenerator>(_ text: [UInt8], using rng: inout G) -> [UInt8] {
        var bytes = text
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[position] = Self.bytes(1, using: &rng)[0]
            case 1: bytes.insert(contentsOf: Self.bytes(Int.random(in: 1...8, using: &rng), using: &rng), at: position)
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...40, using: &rng))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            case 4: bytes = Array(bytes.prefix(position))
            default: bytes.insert(contentsOf: Self.bytes(1, using: &rng), at: position)
            }
        }
        return bytes
    }
}

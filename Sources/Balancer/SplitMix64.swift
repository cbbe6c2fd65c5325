/// A small seeded random number generator (SplitMix64, Steele, Lea and Flood
/// 2014): the policy's own source of randomness, kept in its state as a value,
/// so a run is deterministic for a seed (the simulator, the tests) and the
/// daemon seeds it from the system's generator.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// A generator seeded from the system's.
    public init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in [0, 1) from the top 53 bits (no division by a non-power of two, no bias).
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}

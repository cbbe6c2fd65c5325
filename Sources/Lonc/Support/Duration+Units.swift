/// The one conversion of a `Duration` into plain numbers, for timers, the
/// balancer's `Double` timeline and messages. Every module uses these.
extension Duration {
    /// The duration in seconds, with its fraction.
    public var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole milliseconds (rounded down).
    public var millisecondsValue: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

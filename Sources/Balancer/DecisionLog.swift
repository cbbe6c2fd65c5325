/// The last decisions, for `/decisions`: a fixed ring of records.
///
/// A login that repeats a decision already logged for the same snapshot does
/// not add a record (that would allocate per request); it bumps the record's
/// `count` and `lastAt`. So the log holds the last `capacity` distinct
/// decisions, each with how often it was taken; past a few dozen distinct
/// decisions in one snapshot the rest are only counted (`unrecorded`).
public struct DecisionLog: Sendable {
    /// One logged decision.
    public struct Record: Sendable, Equatable {
        /// Increases by one per record; identifies it while it is in the ring.
        public var sequence: UInt64
        /// When it was first taken (the caller's timeline).
        public var firstAt: Double
        /// When it was last taken.
        public var lastAt: Double
        /// How many logins it decided.
        public var count: Int
        /// The decision, with every candidate's figures and verdict.
        public var decision: Decision
    }

    /// How many records the ring keeps.
    public let capacity: Int
    /// Decisions counted but not recorded: a snapshot had more distinct
    /// decisions than `BalancerState.recordsPerSnapshot` (a burst spread over many spares).
    public private(set) var unrecorded = 0
    private var records: [Record] = []
    private var nextSequence: UInt64 = 1
    private var start = 0

    /// Creates an empty log.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        records.reserveCapacity(self.capacity)
    }

    /// The records, oldest first.
    public var entries: [Record] {
        Array(records[start...] + records[..<start])
    }

    /// Adds a record and returns its sequence number.
    @discardableResult
    public mutating func append(_ decision: Decision, at time: Double) -> UInt64 {
        let record = Record(sequence: nextSequence, firstAt: time, lastAt: time, count: 1, decision: decision)
        nextSequence += 1
        if records.count < capacity {
            records.append(record)
        } else {
            records[start] = record
            start = (start + 1) % capacity
        }
        return record.sequence
    }

    /// Counts a decision that gets no record of its own.
    mutating func countUnrecorded() { unrecorded += 1 }

    /// Whether the record with this sequence number is still in the ring.
    public func contains(sequence: UInt64) -> Bool {
        position(of: sequence) != nil
    }

    /// Counts one more login for the record with this sequence number; false
    /// when that record has left the ring.
    public mutating func countAgain(sequence: UInt64, at time: Double) -> Bool {
        guard let index = position(of: sequence) else { return false }
        records[index].count += 1
        records[index].lastAt = time
        return true
    }

    private func position(of sequence: UInt64) -> Int? {
        let newest = nextSequence - 1
        guard !records.isEmpty, sequence <= newest, newest - sequence < UInt64(records.count) else { return nil }
        let back = Int(newest - sequence)
        let newestIndex = (start + records.count - 1) % records.count
        return (newestIndex - back + records.count) % records.count
    }
}

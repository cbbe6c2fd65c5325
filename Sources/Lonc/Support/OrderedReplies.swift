/// Replies that may finish out of order, handed back in the order their
/// requests came: a line protocol answers in order even when some answers
/// wait on something slower (the peer, the application).
///
///     open() → 0, open() → 1, open() → 2
///     finish(2, c) → []          finish(0, a) → [a]          finish(1, b) → [b, c]
///
/// A value: the channel handler owns it and writes what `finish` returns.
struct OrderedReplies<Reply> {
    private var nextIndex = 0
    private var nextToWrite = 0
    private var finished: [Int: Reply] = [:]

    /// Requests opened and not yet handed back.
    var outstanding: Int { nextIndex - nextToWrite }

    /// A slot for the next request.
    mutating func open() -> Int {
        defer { nextIndex += 1 }
        return nextIndex
    }

    /// Records the reply for `index`; returns the replies now ready, in request order.
    mutating func finish(_ index: Int, _ reply: Reply) -> [Reply] {
        finished[index] = reply
        var ready: [Reply] = []
        while let next = finished.removeValue(forKey: nextToWrite) {
            ready.append(next)
            nextToWrite += 1
        }
        return ready
    }
}

/// How `BalancerState` picks among eligible spares and backups: least busy
/// (ties in turn), round-robin, and a returning user's server.
extension BalancerState {
    /// The eligible slot in `range` with the lowest predicted load, preferring
    /// slots at full share over held-back ones. The search starts just after
    /// the last slot chosen, so among equal loads each takes its turn.
    func leastBusy(in range: Range<Int>, now: Double, below limit: Double?) -> Int? {
        guard !range.isEmpty else { return nil }
        var search = Search()
        // Two plain scans in order (the hot path), from the turn's start to the end and
        // then from the beginning: with strict comparisons the first in turn wins a tie.
        let start = range.contains(tieCursor) ? tieCursor : range.lowerBound
        scan(start..<range.upperBound, now: now, below: limit, into: &search)
        scan(range.lowerBound..<start, now: now, below: limit, into: &search)
        if search.best >= 0 { return search.best }
        return search.held >= 0 ? search.held : nil
    }

    /// The least busy so far, at full share and held back by slow start.
    struct Search {
        var best = -1, bestLoad = Double.infinity
        var held = -1, heldLoad = Double.infinity
    }

    @inline(__always)
    func scan(_ range: Range<Int>, now: Double, below limit: Double?, into search: inout Search) {
        for index in range where isEligible(index, now: now) {
            let load = predicted(index)
            if let limit, load >= limit { continue }
            if admitted(index, now: now) {
                if load < search.bestLoad { search.best = index; search.bestLoad = load }
            } else if load < search.heldLoad {
                search.held = index; search.heldLoad = load
            }
        }
    }

    /// The slot a returning user's cookie names, if it may take this login.
    func returningIndex(_ id: String, now: Double, instead choice: Choice) -> Int? {
        guard let index = slots.firstIndex(where: { $0.observation.id == id }), isEligible(index, now: now) else { return nil }
        if index < spareCount { return index }
        // A backup only while the policy itself would use one.
        guard case .spare(let chosen, _) = choice, chosen >= spareCount else { return nil }
        return index
    }

    func nextInTurn(now: Double) -> Int? {
        let count = spareCount
        guard count > 0 else { return nil }
        var held: Int?
        for step in 0..<count {
            let index = (roundRobinCursor + step) % count
            guard isEligible(index, now: now) else { continue }
            if admitted(index, now: now) { return index }
            if held == nil { held = index }
        }
        return held
    }
}

/// How `BalancerState` explains itself: why a candidate is excluded, the
/// decision log's records, and the reasons in words (/status, /decisions).
extension BalancerState {
    /// Why spare or backup `index` cannot be chosen now, or nil when it can.
    func exclusion(_ index: Int, now: Double) -> Exclusion? {
        let slot = slots[index]
        let observation = slot.observation
        guard observation.linkUp else { return .linkNotUp(state: observation.linkState) }
        if let drain = observation.drain { return .draining(reason: drain.reason) }
        if policy.sameDomain, observation.domain != policy.ownDomain {
            return .otherDomain(domain: observation.domain, own: policy.ownDomain)
        }
        if observation.unansweredPolls > 0 { return .notAnswering(polls: observation.unansweredPolls) }
        guard let reading = observation.reading else { return .noSample }
        let age = now - reading.takenAt
        if age > policy.staleAfter { return .stale(age: age, limit: policy.staleAfter) }
        guard let load = reading.effective else { return .unknownLoad }
        if load >= policy.maxLoad { return .atMaxLoad(load: load, limit: policy.maxLoad) }
        if slot.overloaded { return .awaitingReadmit(load: load, readmit: policy.readmitLoad) }
        return nil
    }

    // MARK: - Explaining and logging

    /// Counts the login in this target's record for the current snapshot, or
    /// starts a new record. The candidates' verdicts are built once per
    /// snapshot and shared by its records (their predicted loads are those of
    /// the snapshot's first logged decision; the chosen spare's is exact), so
    /// a new record costs one reason string, not one verdict per spare.
    mutating func logged(_ mark: LogMark?, now: Double, choice: Choice) -> LogMark {
        if let mark, mark.generation == generation {
            if log.countAgain(sequence: mark.sequence, at: now) { return mark }
            // Its record has left the ring during this very snapshot: with many spares
            // sharing a burst, record the spread as a count rather than churn the ring.
            log.countUnrecorded()
            return mark
        }
        if recordsThisGeneration.generation != generation { recordsThisGeneration = (generation, 0) }
        guard recordsThisGeneration.count < Self.recordsPerSnapshot else {
            log.countUnrecorded()
            return LogMark(generation: generation, sequence: 0)
        }
        recordsThisGeneration.count += 1
        let verdicts: [CandidateVerdict]
        if let cache = verdictCache, cache.generation == generation {
            verdicts = cache.verdicts
        } else {
            verdicts = self.verdicts(now: now)
            verdictCache = (generation, verdicts)
        }
        let decision = Self.decision(choice, verdicts: verdicts, ownLoad: ownPredicted, chosenPredicted: choice.spareIndex.map(predicted), sharing: sharing)
        return LogMark(generation: generation, sequence: log.append(decision, at: now))
    }

    private func verdicts(now: Double) -> [CandidateVerdict] {
        slots.indices.map { index in
            let slot = slots[index]
            let effective = slot.observation.reading?.effective
            let exclusion = exclusion(index, now: now)
            return CandidateVerdict(
                id: slot.observation.id, effective: effective,
                predicted: effective.map { _ in predicted(index) }, exclusion: exclusion,
                share: share(index, now: now), backup: index >= spareCount)
        }
    }

    func explained(now: Double, choice: Choice) -> Decision {
        Self.decision(choice, verdicts: verdicts(now: now), ownLoad: ownPredicted, chosenPredicted: nil, sharing: sharing)
    }

    /// What the words of a shared decision need: `max_load` and the water levels.
    struct Sharing {
        var maxLoad: Double
        var spareLevel: Double
        var backupLevel: Double
    }

    var sharing: Sharing { Sharing(maxLoad: policy.maxLoad, spareLevel: levels.spares, backupLevel: levels.backups) }

    private static func decision(
        _ choice: Choice, verdicts: [CandidateVerdict], ownLoad: Double?, chosenPredicted: Double?, sharing: Sharing
    ) -> Decision {
        let eligibleCount = verdicts.reduce(0) { $0 + ($1.eligible && !$1.backup ? 1 : 0) }
        func spareWords(_ index: Int) -> String {
            let verdict = verdicts[index]
            let slowStart = verdict.share < 1 ? ", in slow start at \(Int((verdict.share * 100).rounded())) % share" : ""
            return "\(verdict.id) at \(Percent.text(verdict.effective ?? 0)) (predicted \(Percent.text(chosenPredicted ?? verdict.predicted ?? 0))\(slowStart))"
        }
        let backups = verdicts.reduce(0) { $0 + ($1.backup ? 1 : 0) }
        let spares = verdicts.count - backups
        let eligibleSpares = verdicts.reduce(0) { $0 + ($1.eligible && !$1.backup ? 1 : 0) }
        let backupWords = backups == 0 ? "" : " or \(backups) backup\(backups == 1 ? "" : "s")"
        let noneWords = verdicts.isEmpty ? "no spares are configured" : "none of the \(spares) spares\(backupWords) is eligible"
        let noSpareWords = eligibleSpares == 0 ? "none of the \(spares) spares is eligible" : "no eligible spare less loaded has room"
        /// How the spare or backup at `index` came to take the login.
        func pickWords(_ index: Int) -> String {
            let verdict = verdicts[index]
            let kind = verdict.backup ? "backup" : "spare"
            let load = chosenPredicted ?? verdict.predicted ?? 0
            let tier = verdicts.filter { $0.eligible && $0.backup == verdict.backup }
            if load >= sharing.maxLoad {
                return "every eligible \(kind)'s predicted load has reached max_load \(Percent.text(sharing.maxLoad)): \(spareWords(index)) takes its share by its sample's headroom"
            }
            let least = tier.compactMap(\.predicted).filter { $0 < sharing.maxLoad }.min() ?? load
            if load <= least + 1e-9 { return "least busy eligible \(kind) is \(spareWords(index))" }
            let level = verdict.backup ? sharing.backupLevel : sharing.spareLevel
            return "\(spareWords(index)) takes its share: the \(tier.count) eligible \(kind)s share logins by how far each is below the water level \(Percent.text(level))"
        }
        switch choice {
        case .local(.ownUnknown):
            return Decision(target: .local, reason: "this server's own load is unknown: it takes the login", ownLoad: ownLoad, candidates: verdicts)
        case .local(.ownWithinLimit(let load)):
            return Decision(target: .local, reason: "own load \(Percent.text(load)) is at most 100 %: this server takes the login", ownLoad: ownLoad, candidates: verdicts)
        case .local(.ownOverNoneLess(let load)):
            let why = eligibleCount == 0 ? noneWords : "no eligible spare\(backupWords.isEmpty ? "" : " or backup") is less loaded"
            return Decision(target: .local, reason: "own load \(Percent.text(load)) is above 100 %, but \(why): this server takes the login", ownLoad: ownLoad, candidates: verdicts)
        case .spare(let index, .ownOverSpare(let load)):
            return Decision(target: .spare(verdicts[index].id), reason: "own load \(Percent.text(load)) is above 100 %: \(pickWords(index))", ownLoad: ownLoad, candidates: verdicts)
        case .spare(let index, .ownOverBackup(let load)):
            return Decision(target: .spare(verdicts[index].id), reason: "own load \(Percent.text(load)) is above 100 % and \(noSpareWords): \(pickWords(index))", ownLoad: ownLoad, candidates: verdicts, usedBackup: true)
        case .spare(let index, .backup):
            let why = eligibleSpares == 0 ? "none of the \(spares) spares is eligible" : "no eligible spare has room"
            return Decision(target: .spare(verdicts[index].id), reason: "\(why): \(pickWords(index))", ownLoad: ownLoad, candidates: verdicts, usedBackup: true)
        case .spare(let index, .returning):
            let kind = verdicts[index].backup ? "backup" : "spare"
            return Decision(target: .spare(verdicts[index].id), reason: "returning user: the cookie names \(kind) \(spareWords(index)), still eligible: it takes the login back", ownLoad: ownLoad, candidates: verdicts, usedBackup: verdicts[index].backup, returning: true)
        case .spare(let index, .nextInTurn):
            return Decision(target: .spare(verdicts[index].id), reason: "round-robin: \(spareWords(index)) is next in turn among \(eligibleCount) eligible spare\(eligibleCount == 1 ? "" : "s")", ownLoad: ownLoad, candidates: verdicts)
        case .spare(let index, _):
            return Decision(target: .spare(verdicts[index].id), reason: pickWords(index), ownLoad: ownLoad, candidates: verdicts)
        case .none, .local:
            return Decision(target: .none, reason: "\(noneWords): no target for logins", ownLoad: ownLoad, candidates: verdicts)
        }
    }
}

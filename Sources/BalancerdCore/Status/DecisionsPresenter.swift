import Balancer
import Foundation
import Health
import Lonc

/// Builds the `/decisions` document from the login balancer's decision log.
struct DecisionsPresenter: Sendable {
    let balancer: LoginBalancer
    let store: ConfigStore

    func json() -> [UInt8] { document().json() }

    func document() -> DecisionsDocument {
        let report = balancer.report()
        // The log keeps monotonic times; shown as wall-clock times.
        let wallOffset = Date().timeIntervalSince1970 - MonotonicClock.now()
        let decisions = report.log.reversed().map { record in
            DecisionsDocument.Entry(
                time: Date(timeIntervalSince1970: record.lastAt + wallOffset),
                firstTime: Date(timeIntervalSince1970: record.firstAt + wallOffset),
                count: record.count, target: record.decision.target.name, backup: record.decision.usedBackup,
                returning: record.decision.returning, reason: record.decision.reason,
                ownLoadPercent: rounded(record.decision.ownLoad),
                candidates: record.decision.candidates.map(Self.candidate))
        }
        return DecisionsDocument(
            host: store.current.config.hostID, generatedAt: Date(), notRecordedTotal: report.unrecorded, decisions: decisions)
    }

    private static func candidate(_ verdict: CandidateVerdict) -> DecisionsDocument.Candidate {
        DecisionsDocument.Candidate(
            id: verdict.id, effectivePercent: rounded(verdict.effective), predictedPercent: rounded(verdict.predicted),
            eligible: verdict.eligible, excludedBecause: verdict.excludedBecause, share: rounded(verdict.share) ?? 0,
            backup: verdict.backup)
    }
}

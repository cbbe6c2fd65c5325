import Balancer
import Foundation
import Health
import Lonc

/// The `/decisions` document: the balancer's recent decisions, newest first
/// (docs/REFERENCE.md, "HTTP API").
struct DecisionsPresenter: Sendable {
    let routing: RoutingTable
    let store: ConfigStore

    func json() -> [UInt8] {
        let report = routing.report()
        let wallOffset = Date().timeIntervalSince1970 - MonotonicClock.now()
        let decisions = report.log.reversed().map { record -> JSONValue in
            .object([
                ("time", .time(Date(timeIntervalSince1970: record.lastAt + wallOffset))),
                ("first_time", .time(Date(timeIntervalSince1970: record.firstAt + wallOffset))),
                ("count", .integer(record.count)),
                ("target", .string(record.decision.target.name)),
                ("reason", .string(record.decision.reason)),
                ("own_load_percent", .number(record.decision.ownLoad)),
                ("candidates", .array(record.decision.candidates.map(Self.candidate))),
            ])
        }
        return JSONValue.object([
            ("host", .string(store.current.config.hostID)),
            ("generated_at", .time(Date())),
            ("not_recorded_total", .integer(report.unrecorded)),
            ("decisions", .array(Array(decisions))),
        ]).serialized()
    }

    private static func candidate(_ verdict: CandidateVerdict) -> JSONValue {
        .object([
            ("id", .string(verdict.id)),
            ("effective_percent", .number(verdict.effective)),
            ("predicted_percent", .number(verdict.predicted)),
            ("eligible", .bool(verdict.eligible)),
            ("excluded_because", .string(verdict.excludedBecause)),
            ("share", .number(verdict.share)),
        ])
    }

}

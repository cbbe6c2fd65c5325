import Foundation
import Lonc

/// `/health` (and `balancerd ctl status`): this server, the balancer's
/// current decision, and every peer's link and load. Web/openapi.yaml is its schema.
public struct HealthDocument: StatusDocument, Equatable {
    /// `critical`: no target for logins; `degraded`: some peer link is not up.
    public enum Status: String, Codable, Sendable {
        case ok, degraded, critical
    }

    public var host: String
    public var version: String
    public var status: Status
    public var generatedAt: Date
    public var uptimeSeconds: Double
    public var startedAt: Date
    public var own: OwnLoad
    public var balancer: BalancerSummary
    public var peers: [Peer]
    /// Critical messages the peers refused (`serve` only; absent for other documents).
    public var relay: Relay? = nil

    enum CodingKeys: String, CodingKey {
        case host, version, status, generatedAt, startedAt, balancer, peers, relay
        case uptimeSeconds = "uptimeS"
        case own = "self"
    }

    /// This server's own load, and the balancer's prediction of it.
    public struct OwnLoad: Codable, Sendable, Equatable {
        @Nullable public var loadPercent: Double?
        @Nullable public var userloadPercent: Double?
        @Nullable public var effectivePercent: Double?
        @Nullable public var predictedPercent: Double?
        /// Recent samples as `[unix time, effective percent or null]`.
        public var history: [[Double?]]
    }

    public struct BalancerSummary: Codable, Sendable, Equatable {
        /// `overflow`, `always` or `round-robin`.
        public var mode: String
        /// A spare id, `self`, or `none`.
        public var target: String
        public var reason: String
        /// True when `target` is a backup (`balancer.backups`): no spare can take a login now.
        public var backup: Bool
        public var redirectsTotal: Int
        /// Of `redirectsTotal`, the logins sent to a backup.
        public var backupRedirectsTotal: Int
        public var noTargetTotal: Int
        /// `balancer.max_load`: a server at or above it takes no new logins (percent).
        public var maxLoadPercent: Double
        /// `balancer.readmit_load`: an excluded server takes logins again below it (percent).
        public var readmitLoadPercent: Double
    }

    public struct Peer: Codable, Sendable, Equatable {
        public var id: String
        public var domain: String
        public var role: String
        public var hostname: String
        public var spare: Bool
        /// In `balancer.backups`: takes logins only when no spare can.
        public var backup: Bool
        public var draining: Bool
        @Nullable public var drainReason: String?
        /// When the drain began (null when not draining).
        @Nullable public var drainSince: Date?
        /// Who asked for the drain (`balancerd ctl`'s user), when known.
        @Nullable public var drainedBy: String?
        /// The balancer instance (hosts-table id) where the drain was given: this
        /// one, or another of `balancer.instances` that sent it; null when not known.
        @Nullable public var drainOrigin: String?
        public var eligible: Bool
        /// The part of its fair share of logins slow start lets the spare take
        /// now (0…1; 1 once slow start is over), null when it is not a candidate.
        @Nullable public var slowStartShare: Double?
        @Nullable public var excludedBecause: String?
        public var link: Link
        public var load: Load
        /// Critical messages waiting on disk for this peer.
        public var delayed: Int
        /// Recent samples as `[unix time, effective percent or null]`.
        public var history: [[Double?]]
    }

    /// The relay's refused critical messages, kept in `<state_dir>/delayed/rejected/` with their replies.
    public struct Relay: Codable, Sendable, Equatable {
        /// Messages in `delayed/rejected/` now (null when the folder cannot be read: unknown, not 0).
        @Nullable public var rejectedMessages: Int?
        /// Messages the peers refused since this daemon started.
        public var rejectedTotal: Int
    }

    /// The link to a peer: its status (as the poller's snapshot has it) and its traffic.
    public struct Link: Codable, Sendable, Equatable {
        /// Where it is, since when, after how many failed attempts in a row, and the last failure (kept once up again).
        public var state: LinkState
        public var since: Date
        public var attempts: Int
        @Nullable public var lastError: String?
        /// Moving average of request round trips (`rttMs`).
        @Nullable public var rttMilliseconds: Double?
        /// What its latest connection negotiated: the peer's protocol version, TLS (`plain` without), cipher.
        @Nullable public var peerVersion: String?
        @Nullable public var tls: String?
        @Nullable public var tlsCipher: String?
        /// Requests sent since start, and those that got `con_lost`.
        public var requestsTotal: Int
        public var failuresTotal: Int

        enum CodingKeys: String, CodingKey {
            case state, since, attempts, lastError, peerVersion, tls, tlsCipher, requestsTotal, failuresTotal
            case rttMilliseconds = "rttMs"
        }
    }

    public struct Load: Codable, Sendable, Equatable {
        @Nullable public var loadPercent: Double?
        @Nullable public var userloadPercent: Double?
        @Nullable public var effectivePercent: Double?
        @Nullable public var predictedPercent: Double?
        @Nullable public var sampledAt: Date?
        @Nullable public var ageSeconds: Double?
        /// True when there is no sample, or it is older than `poll.stale_after`.
        public var stale: Bool

        enum CodingKeys: String, CodingKey {
            case loadPercent, userloadPercent, effectivePercent, predictedPercent, sampledAt, stale
            case ageSeconds = "ageS"
        }
    }
}

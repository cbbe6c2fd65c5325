import NIOCore

/// When the HAProxy agent-check line is computed: at most once per `maxAge`,
/// however many connections ask, and one computation at a time. Pure: events
/// in, actions out; time is a parameter.
///
///     ask ──fresh──▶ .answer(line)
///     ask ──stale, none running──▶ .compute (the caller runs it, then `computed`)
///     ask ──stale, one running──▶ .wait (answered by that computation)
///
/// The line reads `sessions_dir` and the load file: listing 10,000 session
/// files for every connection of a flood is what held up peer polls.
struct AgentCheckAnswerCache: Sendable {
    enum Action: Equatable, Sendable {
        case answer(String)
        case compute
        case wait
    }

    let maxAge: TimeAmount
    private(set) var last: (line: String, at: NIODeadline)?
    private(set) var isComputing = false

    init(maxAge: Duration) { self.maxAge = .milliseconds(maxAge.millisecondsValue) }

    /// A connection wants the line at `now`.
    mutating func ask(at now: NIODeadline) -> Action {
        if let last, now - last.at < maxAge { return .answer(last.line) }
        if isComputing { return .wait }
        isComputing = true
        return .compute
    }

    /// The computation started at `.compute` ended at `now` with `line`: every waiter gets it.
    mutating func computed(_ line: String, at now: NIODeadline) {
        last = (line, now)
        isComputing = false
    }
}

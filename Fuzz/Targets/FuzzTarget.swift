/// The coverage-guided fuzz targets (RELIABILITY.md, "Fuzzing"). Each takes
/// one input as bytes, drives a real part of balancerd with it and returns the
/// invariants it broke (empty: none). libFuzzer's entry points (`Fuzz/Entry/`)
/// stop on the first broken one; the corpus replay in `make test`
/// (`FuzzCorpusTests`) reports them.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `LineFrameDecoder`: any byte stream in any chunking.
    case lineFramer = "line-framer"
    /// `HostsTable.parse`.
    case hostsTable = "hosts-table"
    /// `ConfigLoader.load(text:path:)`.
    case config
    /// `LoginLocation.build`: no open redirect, no header injection.
    case loginLocation = "login-location"
    /// The agent's pipeline (framing, request ids, handshake and commands) fed a byte stream.
    case agent
    /// `PeerLink.StateMachine` fed event sequences, its invariants checked after each event.
    case linkStateMachine = "link-state-machine"
    /// `StatusPage` with texts from peers, the config and the search: no input adds a tag or an attribute.
    case statusPage = "status-page"

    /// Runs the target on `input`; returns the invariants broken.
    public func run(_ input: [UInt8]) -> [String] {
        switch self {
        case .lineFramer: LineFramerFuzz.run(input)
        case .hostsTable: HostsTableFuzz.run(input)
        case .config: ConfigFuzz.run(input)
        case .loginLocation: LoginLocationFuzz.run(input)
        case .agent: AgentStreamFuzz.run(input)
        case .linkStateMachine: LinkStateMachineFuzz.run(input)
        case .statusPage: StatusPageFuzz.run(input)
        }
    }
}

/// Reads a fuzz input front to back; past the end every read is 0, so any
/// input, even empty, is a complete one.
struct FuzzInput {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The bytes up to (not including) `separator`, or to the end.
    mutating func bytes(upTo separator: UInt8) -> ArraySlice<UInt8> {
        let start = min(offset, bytes.count)
        let end = bytes[start...].firstIndex(of: separator) ?? bytes.count
        offset = end + 1
        return bytes[start..<end]
    }

    /// The rest.
    mutating func rest() -> ArraySlice<UInt8> {
        let start = min(offset, bytes.count)
        offset = bytes.count
        return bytes[start...]
    }
}

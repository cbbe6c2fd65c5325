import Testing
@testable import Lonc

@Suite("hosts.tab parsing")
struct HostsTableTests {
    @Test("the seed's table parses, comments and blank lines skipped")
    func seedTable() throws {
        let text = """
            # id:domain:role:hostname:ip
            msul1:msu:library:zaphod.lite.msu.edu:35.8.63.51

            msua1:msu:access:agrajag.lite.msu.edu:35.8.63.68   # the login server
            huba20:hub:access:hubs128-pc-20.cl.msu.edu:35.8.116.40
            """
        let table = try HostsTable.parse(text, file: "hosts.tab")
        #expect(table.ids == ["msul1", "msua1", "huba20"])
        #expect(table["msua1"] == HostEntry(id: "msua1", domain: "msu", role: "access", hostname: "agrajag.lite.msu.edu", address: "35.8.63.68"))
        #expect(table["huba20"]?.port(default: 5663) == 5663)
        #expect(table["nobody"] == nil)
    }

    /// Each id names its relay socket `<socket_dir>/<id>`, beside `control`:
    /// `control` would take the control socket's place, `.` and `..` name folders.
    @Test("ids that would collide with socket_dir's own names are refused, naming the file and line")
    func reservedIDs() throws {
        for id in ["control", ".", "..", ".hidden"] {
            let text = "ok1:d:access:ok1.example:127.0.0.1\n\(id):d:access:x.example:127.0.0.1\n"
            #expect {
                try HostsTable.parse(text, file: "/etc/balancerd/hosts.tab")
            } throws: { error in
                let lines = (error as? HostsTableError)?.lines ?? []
                return lines.count == 1 && lines[0].hasPrefix("/etc/balancerd/hosts.tab:2: id '\(id)' ")
                    && (lines[0].contains("control socket") || lines[0].contains("may not start with '.'"))
            }
        }
        // Ids that merely hold a dot or the word stay valid.
        let table = try HostsTable.parse("x.a1:d:access:x.example:127.0.0.1\ncontrol2:d:access:y.example:127.0.0.1\n", file: "hosts.tab")
        #expect(table.ids == ["x.a1", "control2"])
    }

    @Test("addresses with ports, bare and bracketed IPv6, CRLF line ends")
    func addresses() throws {
        let text = "a:d:access:a.example:127.0.0.1:5701\r\nb:d:access:b.example:[::1]:5702\nc:d:access:c.example:2001:db8::7\nd:d:access:d.example:[fe80::1]\ne:d:access:e.example:peer.internal:6000\n"
        let table = try HostsTable.parse(text, file: "hosts.tab")
        #expect(table["a"].map { ($0.address, $0.port) } ?? ("", nil) == ("127.0.0.1", 5701))
        #expect(table["b"].map { ($0.address, $0.port) } ?? ("", nil) == ("::1", 5702))
        #expect(table["c"].map { ($0.address, $0.port) } ?? ("", nil) == ("2001:db8::7", nil))
        #expect(table["d"]?.address == "fe80::1")
        #expect(table["e"].map { ($0.address, $0.port) } ?? ("", nil) == ("peer.internal", 6000))
        #expect(table["a"]?.isLoopback == true)
        #expect(table["b"]?.isLoopback == true)
        #expect(table["c"]?.isLoopback == false)
    }

    @Test("every bad line is reported with its line number", arguments: [
        ("a:d:access:a.example", "expected 5 fields"),
        ("a:d:access:a.example:10.0.0.1:99999", "port '99999'"),
        ("a:d:access:a.example:10.0.0.1:http", "port 'http'"),
        ("a:d:access:a.example:300.1.1.1", "not a valid IPv4"),
        ("a:d:access:a.example:[::1", "without a closing"),
        ("a:d:access:a.example:[::g]:5", "not an IPv6"),
        ("a:d:access:a.example:1::2::3", "not an IPv6"),
        ("a::access:a.example:10.0.0.1", "empty domain"),
        (":d:access:a.example:10.0.0.1", "empty id"),
        ("a b:d:access:a.example:10.0.0.1", "id 'a b'"),
        ("a:d:access:-bad-.example:10.0.0.1", "not a valid DNS name"),
        ("a:d:access:a..example:10.0.0.1", "not a valid DNS name"),
        ("a:d:access:a.example:[::1]5701", "expected ':port'"),
    ])
    func badLine(line: String, expected: String) {
        let text = "# header\nok:d:access:ok.example:10.0.0.9\n\(line)\n"
        #expect {
            try HostsTable.parse(text, file: "/etc/balancerd/hosts.tab")
        } throws: { error in
            guard let error = error as? HostsTableError, error.problems.count == 1 else { return false }
            return error.problems[0].line == 3 && error.description.hasPrefix("/etc/balancerd/hosts.tab:3: ")
                && error.description.contains(expected)
        }
    }

    @Test("duplicate ids name both lines; all problems come at once")
    func duplicatesAndMany() {
        let text = "a:d:access:a.example:10.0.0.1\nb:d:access\na:d:access:a2.example:10.0.0.2\n"
        do {
            _ = try HostsTable.parse(text, file: "h.tab")
            Issue.record("a table with two bad lines parsed")
        } catch {
            #expect(error.lines == [
                "h.tab:2: expected 5 fields id:domain:role:hostname:ip, found 3",
                "h.tab:3: duplicate id 'a' (first defined on line 1)",
            ])
        }
    }

    @Test("a missing file names the file")
    func missingFile() {
        #expect(throws: HostsTableError.self) { try HostsTable.load(path: "/nonexistent/hosts.tab") }
        do {
            _ = try HostsTable.load(path: "/nonexistent/hosts.tab")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/hosts.tab: cannot read"))
        }
    }
}

import ArgumentParser
import BalancerdCore
import Foundation
import Lonc

/// `balancerd certs init|issue`: the cluster CA and host certificates.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Make the cluster's CA and host certificates (ECDSA P-256, with OpenSSL).",
        discussion: """
            Every server needs the CA certificate (tls.ca) and its own certificate and key \
            (tls.cert, tls.key). Run `certs init` once, on a safe machine, then `certs issue` \
            for each server and copy ca.pem, <id>.pem and <id>.key to it. Keep ca.key off the \
            servers: whoever holds it can join the cluster.
            """,
        subcommands: [Init.self, Issue.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a cluster CA: ca.pem and ca.key (mode 0600).")

        @Option(help: ArgumentHelp("Folder for ca.pem and ca.key.", valueName: "DIR"))
        var dir: String = "."

        @Option(help: "The CA's common name.")
        var name: String = "balancerd cluster CA"

        @Flag(help: "Replace an existing CA (every host certificate must then be issued again).")
        var force = false

        func run() throws {
            let caPath = dir + "/ca.pem"
            if FileManager.default.fileExists(atPath: caPath), !force {
                printToStandardError("\(caPath) exists; use --force to replace it (and issue every host certificate again)")
                throw ExitCode(1)
            }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            do {
                let paths = try ClusterCertificateAuthority.create(directory: dir, commonName: name)
                print("made the cluster CA: \(paths.certificate) (share) and \(paths.key) (keep secret)")
            } catch {
                printToStandardError("\(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a host's certificate and key, for the hostname the hosts table gives it.")

        @Argument(help: "The host's id in the hosts table.")
        var id: String

        @OptionGroup var config: ConfigOption

        @Option(help: ArgumentHelp("Folder holding ca.pem and ca.key (default: the folder of tls.ca).", valueName: "DIR"))
        var caDir: String?

        @Option(help: ArgumentHelp("Folder for <id>.pem and <id>.key (default: the CA's folder).", valueName: "DIR"))
        var dir: String?

        func run() throws {
            // Only the hosts table is needed: read it without requiring the TLS files to exist yet.
            let loaded: ConfigLoader.Loaded
            do {
                loaded = try ConfigLoader().loadIgnoringTLSFiles(path: config.path)
            } catch {
                for problem in error.problems { printToStandardError(problem.description) }
                throw ExitCode(1)
            }
            guard let entry = loaded.hosts[id] else {
                printToStandardError("\(loaded.config.hostsTablePath): no host '\(id)' (ids: \(loaded.hosts.ids.joined(separator: ", ")))")
                throw ExitCode(1)
            }
            let caDirectory = caDir ?? (loaded.config.tls.caPath.isEmpty ? "." : (loaded.config.tls.caPath as NSString).deletingLastPathComponent)
            let target = dir ?? caDirectory
            do {
                try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                let paths = try ClusterCertificateAuthority.issue(id: id, hostname: entry.hostname, caDirectory: caDirectory, into: target)
                print("issued \(paths.certificate) and \(paths.key) for \(id) (\(entry.hostname))")
            } catch {
                printToStandardError("\(error)")
                throw ExitCode(1)
            }
        }
    }
}

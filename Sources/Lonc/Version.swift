/// balancerd's own version (`balancerd --version`, `/health`'s `version`, the
/// Debian package's: scripts/build-deb.sh reads the line below). The version
/// its links announce is the wire protocol's, `WireProtocol.version`.
public enum BalancerdVersion { public static let string = "0.1.0" }

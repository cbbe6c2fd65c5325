public enum LoncVersion { public static let string = "0.1.0" }

import Foundation

// libFuzzer's driver, started from our own `main` (SwiftPM names an executable's
// entry point itself, so libFuzzer's `main` cannot be the one linked).
var argumentCount = CommandLine.argc
var argumentValues = CommandLine.unsafeArgv
exit(libFuzzerRunDriver(&argumentCount, &argumentValues) { data, size in fuzzOneInput(data, size) })

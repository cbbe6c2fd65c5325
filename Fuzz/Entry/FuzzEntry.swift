import FuzzTargets
import TestSupport

import Foundation

/// libFuzzer's entry point for every target in one binary; the target is
/// `BALANCERD_FUZZ_TARGET` (a `FuzzTarget` raw value, e.g. `line-framer`).
/// A broken invariant is printed and aborts, which libFuzzer reports as a
/// crash and saves the input for (Makefile, `make fuzz`).
let target: FuzzTarget = {
    let name = getenv("BALANCERD_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        printError("BALANCERD_FUZZ_TARGET must name a target: \(names) (got \"\(name)\")")
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let broken = target.run(bytes).first {
        printError("\(target.rawValue): invariant broken: \(broken)")
        abort()
    }
    return 0
}

/// libFuzzer's driver: parses its options from the command line and runs `callback` on each input.
@_silgen_name("LLVMFuzzerRunDriver")
func libFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// libFuzzer's own mutator, for when the seeded-random comparison is off.
@_silgen_name("LLVMFuzzerMutate")
func libFuzzerMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int) -> Int

/// With `BALANCERD_FUZZ_RANDOM=1` every new input is made the seeded-random
/// fuzzers' way (`FuzzTarget.seededRandomInput`), whatever libFuzzer's corpus
/// holds: the coverage feedback then chooses nothing, and the edges reached are
/// those of seeded-random testing for the same time and instrumentation.
let seededRandom = getenv("BALANCERD_FUZZ_RANDOM").map { String(cString: $0) == "1" } ?? false

@_cdecl("LLVMFuzzerCustomMutator")
public func fuzzMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: CUnsignedInt) -> Int {
    guard seededRandom else { return libFuzzerMutate(data, size, maxSize) }
    var rng = SeededGenerator(seed: UInt64(seed))
    let input = target.seededRandomInput(using: &rng).prefix(maxSize)
    for (offset, byte) in input.enumerated() { data[offset] = byte }
    return input.count
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

import Foundation
import Testing

@testable import ModelCheck

/// The SPIN side-by-side benchmark (`Benchmarks/spin/`, docs/benchmarks.md "Side by side
/// with SPIN"): the spec that `spec-atomic.sh` prints has exactly the state graph of the
/// Promela model, so without the reductions (`--no-por --no-symmetry`) its state count is
/// SPIN's unreduced count; with them it is smaller and the verdicts are the same.
@Suite("SPIN benchmark") struct SpinBenchmarkTests {
  /// A size of the model and SPIN's counts for it.
  struct Size: CustomTestStringConvertible, Sendable {
    /// NCPU, NPT, NPTE, ROUNDS, BATCH.
    let parameters: [Int]
    /// SPIN 6.5.2 `-DSAFETY -DNOREDUCE` counts, "states, stored", of the SPIN reference run
    /// of this model (its table 3.1 for 2/1/1/1 and 2/1/2/1, the NR column of its grid,
    /// table 3.2, for 3/1/1/1); Benchmarks/spin/crosscheck.sh reproduces them with SPIN.
    let spinStates: Int
    /// modelcheck's transitions. They are not SPIN's: SPIN counts every hardware edge
    /// once per hardware process and adds 1, modelcheck counts every hardware program's
    /// step in every state, self-loops included; crosscheck.sh checks the relation.
    let transitions: Int
    /// States with the reductions (modelcheck's default), pinned.
    let reducedStates: Int
    var testDescription: String { parameters.map(String.init).joined(separator: "/") }
  }

  static let sizes: [Size] = [
    Size(parameters: [2, 1, 1, 1, 2], spinStates: 1326, transitions: 4965, reducedStates: 521),
    Size(parameters: [2, 1, 2, 1, 2], spinStates: 5696, transitions: 31939, reducedStates: 2287),
    Size(parameters: [3, 1, 1, 1, 2], spinStates: 7006, transitions: 29499, reducedStates: 1010),
  ]

  /// Runs a generator script of `Benchmarks/spin/` with `/bin/bash` and returns its output.
  static func generate(_ script: String, _ parameters: [Int]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    let path = packageRoot.appendingPathComponent("Benchmarks/spin/\(script)").path
    process.arguments = [path] + parameters.map(String.init)
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(script) \(parameters)")
    return String(decoding: data, as: UTF8.self)
  }

  @Test("the spec at SPIN's atomicity has SPIN's -DNOREDUCE state count", arguments: sizes)
  func atomicMatchesSpin(_ size: Size) throws {
    let text = try Self.generate("spec-atomic.sh", size.parameters)
    var unreduced = Limits()
    (unreduced.partialOrder, unreduced.symmetry) = (false, false)
    let path = "spec-atomic-\(size.testDescription).spec"
    let result = try check(text, path: path, limits: unreduced)
    #expect(result.stopReason == nil)
    #expect(result.matchesExpectation)
    #expect(result.status(.assertions) == .pass)
    #expect(result.statistics.states == size.spinStates)
    #expect(result.statistics.transitions == size.transitions)
    let reduced = try check(text, path: path)
    #expect(reduced.matchesExpectation && reduced.status(.assertions) == .pass)
    #expect(reduced.statistics.states == size.reducedStates)
  }

  @Test("the natural spec of the same workload passes its checks")
  func naturalPasses() throws {
    let text = try Self.generate("spec-natural.sh", [2, 1, 1, 1, 2])
    let result = try check(text, path: "spec-natural-2-1-1-1-2.spec")
    #expect(result.stopReason == nil)
    #expect(result.matchesExpectation)
    for kind: PropertyKind in [.noStaleRead, .cmpxchgTerminates, .noLostDirty, .deadlockFree] {
      #expect(result.status(kind) == .pass, "\(kind.name)")
    }
  }
}

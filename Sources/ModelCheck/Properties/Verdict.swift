/// A counterexample, as actions from the initial state: a finite run (safety), or a lasso
/// (a prefix, then a cycle that repeats forever).
public enum Counterexample: Sendable {
  case run([Int])
  case lasso(prefix: [Int], cycle: [Int])

  public var length: Int {
    switch self {
    case .run(let a): return a.count
    case .lasso(let p, let c): return p.count + c.count
    }
  }
}

/// The verdict on one property.
public struct PropertyResult: Sendable {
  public enum Status: String, Sendable { case pass, fail, incomplete }
  public var kind: PropertyKind
  public var status: Status
  public var counterexample: Counterexample?
  /// Extra facts, e.g. the retry counts of each cmpxchg loop.
  public var details: [String] = []
}

/// The outcome of checking one spec.
public struct CheckResult: Sendable {
  public var program: Program
  public var file: SourceFile
  public var properties: [PropertyResult]
  public var statistics: Statistics
  public var stopReason: StopReason?
  /// The run a runtime fault happened on (the spec is wrong).
  public var faultRun: [Int]?
  /// A shortest run in which every CPU finishes (for `--show-run`), if one was found.
  public var completeRun: [Int]?
  /// Which statements ran (nil when exploration did not go through the whole graph).
  public var coverage: Coverage?

  public var expectation: Expectation { program.spec.expectation }

  /// Whether every property's verdict is what the spec expects. An incomplete verdict
  /// never matches; a failure witnessed before a limit stopped the run is final, so a run
  /// stopped after every checked property failed as expected matches.
  public var matchesExpectation: Bool {
    guard stopReason.map({ if case .fault = $0 { return false } else { return true } }) ?? true
    else { return false }
    for p in properties {
      switch p.status {
      case .incomplete: return false
      case .pass: if expectation.failing.contains(p.kind) { return false }
      case .fail: if !expectation.failing.contains(p.kind) { return false }
      }
    }
    return true
  }
}

extension StopReason {
  /// A stop by a runtime fault of the compiled program.
  public static func fault(_ f: RuntimeFault) -> StopReason { .fault(code: f.rawValue) }

  /// The runtime fault the run stopped at, if that is why it stopped.
  public var runtimeFault: RuntimeFault? {
    if case .fault(let code) = self { return RuntimeFault(rawValue: code) ?? .localLoop }
    return nil
  }

  public var message: String {
    switch self {
    case .stateLimit(let n): return "stopped at the state limit (--max-states \(n))"
    case .memoryLimit(let b): return "stopped at the memory limit (--max-memory \(formatBytes(b)))"
    case .outOfMemory: return "stopped: memory could not be allocated"
    case .fault: return "stopped: \(runtimeFault?.message ?? "a runtime fault")"
    }
  }
}

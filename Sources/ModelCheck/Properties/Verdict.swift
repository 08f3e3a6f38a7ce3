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

  /// Whether some decided verdict contradicts `expect`: a property fails that should
  /// pass, or passes that should fail. An incomplete verdict decides nothing.
  public var differsFromExpectation: Bool {
    properties.contains {
      switch $0.status {
      case .incomplete: return false
      case .pass: return expectation.failing.contains($0.kind)
      case .fail: return !expectation.failing.contains($0.kind)
      }
    }
  }

  /// Whether some checked property has no verdict (a limit or an interrupt stopped it).
  public var isIncomplete: Bool { properties.contains { $0.status == .incomplete } }

  /// How the spec's check ended, for the exit status, the tally and JUnit.
  public var outcome: SpecVerdict {
    if case .fault? = stopReason { return .error }
    if differsFromExpectation { return .differs }
    if isIncomplete { return .incomplete }
    return .asExpected
  }
}

/// How checking one spec ended, in the order of precedence of the exit status (an error
/// wins over a difference, which wins over an incomplete run).
public enum SpecVerdict: String, Sendable, CaseIterable {
  /// Every verdict is the spec's `expect`.
  case asExpected = "as_expected"
  /// Some decided verdict contradicts `expect`.
  case differs
  /// No verdict differs, but some property has none (a limit, the time, an interrupt).
  case incomplete
  /// A spec error, a runtime fault, an unreadable file, a crash of the checker.
  case error
  /// A directory run was interrupted before this spec was started.
  case notRun = "not_run"
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
    case .machineMemoryLimit(let b):
      return "stopped at this machine's memory limit (\(formatBytes(b)), 3/5 of its memory or "
        + "its cgroup's; --max-memory sets another)"
    case .timeLimit(let t): return "stopped at the time limit (--max-time \(formatSeconds(t)))"
    case .outOfMemory: return "stopped: memory could not be allocated"
    case .interrupted(let signal): return "stopped by \(signalName(signal))"
    case .fault: return "stopped: \(runtimeFault?.message ?? "a runtime fault")"
    }
  }
}

/// A duration as `--max-time` takes it back: whole seconds as `90s`, else two decimals.
func formatSeconds(_ t: Double) -> String {
  t == t.rounded() && t < 1e15 ? "\(Int(t))s" : "\(format2(t))s"
}

/// The conventional name of the signals the driver stops on.
public func signalName(_ signal: Int32) -> String {
  switch signal {
  case 2: return "SIGINT"
  case 15: return "SIGTERM"
  default: return "signal \(signal)"
  }
}

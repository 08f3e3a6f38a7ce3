import PTState

/// The pipeline, in order: spec text -> parsed spec -> checked spec -> program (compiled
/// transition system) -> exploration -> verdicts. Reports are rendered separately.
public enum Pipeline {
  /// A spec that cannot be checked: its diagnostics, ready to print.
  public struct SpecError: Error, Sendable {
    public var file: SourceFile
    public var diagnostics: [Diagnostic]
    public var rendered: String { DiagnosticRenderer.render(diagnostics, in: file) }
  }

  /// Parses, checks and lowers one spec.
  public static func compile(_ file: SourceFile) throws(SpecError) -> Program {
    if file.text.unicodeScalars.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }) {
      throw SpecError(file: file, diagnostics: [Diagnostic("spec.empty", "the spec is empty", at: SourceRange(start: .init(line: 1, column: 1), length: 1), hint: "expected declarations: mode, pte, lock, cpu, expect (see docs/spec-language.md)")])
    }
    do {
      let ast = try Parser.parse(file.text)
      var checked = try Sema.check(ast)
      checked.sourceFile = file
      return try Lowering.lower(checked)
    } catch let d as Diagnostic {
      throw SpecError(file: file, diagnostics: [d])
    } catch let list as DiagnosticList {
      throw SpecError(file: file, diagnostics: list.diagnostics)
    } catch {
      throw SpecError(file: file, diagnostics: [Diagnostic("spec.internal", "\(error)", at: SourceRange(start: .init(line: 1, column: 1), length: 1))])
    }
  }

  /// Explores every interleaving and decides every property the spec checks.
  public static func check(_ program: Program, file: SourceFile, limits: Limits = Limits()) -> CheckResult {
    let checksRetries = program.checks(.cmpxchgTerminates)
    var safetyBits: UInt16 = 0
    for p in program.spec.properties where p != .cmpxchgTerminates { safetyBits |= p.bit }
    var explorer = BreadthFirst(system: program)
    explorer.run(
      limits: limits, safetyBits: safetyBits,
      deadlockBit: program.checks(.deadlockFree) ? PropertyKind.deadlockFree.bit : 0,
      needsFullGraph: checksRetries)

    var results: [PropertyResult] = []
    for kind in program.spec.properties where kind != .cmpxchgTerminates {
      if let w = explorer.witnesses[kind.bit] {
        var run = explorer.actions(to: w.state)
        if let a = w.action { run.append(a) }
        results.append(PropertyResult(kind: kind, status: .fail, counterexample: .run(run)))
      } else {
        results.append(PropertyResult(kind: kind, status: explorer.isComplete ? .pass : .incomplete))
      }
    }
    var stats = explorer.statistics
    if checksRetries {
      let start = monotonicSeconds()
      let (verdict, subgraphStates) = retryVerdict(program, explorer)
      results.append(verdict)
      stats.livenessSeconds = monotonicSeconds() - start
      stats.livenessStates = subgraphStates
    }
    results.sort { $0.kind < $1.kind }

    stats.peakResidentBytes = peakResidentBytes()
    var faultRun: [Int]?
    if let w = explorer.faultWitness {
      var run = explorer.actions(to: w.state)
      if let a = w.action { run.append(a) }
      faultRun = run
    }
    let completeRun = explorer.firstFinished.map { explorer.actions(to: $0) }
    return CheckResult(program: program, file: file, properties: results, statistics: stats, stopReason: explorer.stopReason, faultRun: faultRun, completeRun: completeRun)
  }

  private static func retryVerdict(_ program: Program, _ explorer: borrowing BreadthFirst<Program>) -> (PropertyResult, Int) {
    var result = PropertyResult(kind: .cmpxchgTerminates, status: .pass)
    guard explorer.isComplete else {
      result.status = .incomplete
      return (result, 0)
    }
    var subgraphStates = 0
    let bound = program.spec.retryBound
    for (id, loop) in program.loops.enumerated() {
      let tag = UInt16(id + 1)
      let owns = program.code.contains { if case .cmpxchg(_, _, _, _, let l) = $0 { return l == tag } else { return false } }
      guard owns else { continue }
      let report = explorer.analyzeRetries(
        process: loop.cpu, loopTag: tag, bound: bound, inLoop: { program.isInLoop($0, loop: id) },
        staysInLoop: { loop.pcs.contains(Int($0.pcLow)) && loop.pcs.contains(Int($0.pcHigh)) })
      subgraphStates += report.subgraphStates
      let cpuName = program.spec.cpus[loop.cpu].name
      let where_ = "cmpxchg loop of \(cpuName) at line \(loop.source.start.line)"
      if report.subgraphStates == 0 {
        result.details.append("\(where_): never reached")
      } else if let lasso = report.lasso {
        result.details.append("\(where_): livelock, it can retry forever under a fair scheduler")
        if result.counterexample == nil {
          result.status = .fail
          result.counterexample = .lasso(prefix: lasso.prefix, cycle: lasso.cycle)
        }
      } else if let most = report.maxRetries {
        result.details.append("\(where_): at most \(most) \(most == 1 ? "retry" : "retries") (\(most + 1) \(most == 0 ? "attempt" : "attempts"))" + (bound.map { ", bound \($0)" } ?? ""))
      } else {
        result.details.append("\(where_): unbounded retries, but only under an unfair scheduler")
      }
      if let run = report.overBound, result.counterexample == nil {
        result.status = .fail
        result.counterexample = .run(run)
        result.details.append("\(where_): exceeds the declared bound of \(bound ?? 0) retries")
      }
    }
    if result.details.isEmpty { result.details.append("no cmpxchg retry loop in the spec") }
    return (result, subgraphStates)
  }
}

/// The properties decided on the explored graph once exploration is complete:
/// `cmpxchg_terminates` (one analysis per retry loop) and `terminates` (one analysis of
/// every state where some program has not finished). Both use `analyzeRetries`
/// (`RetryAnalysis.swift`); a pass that runs out of memory gives an incomplete verdict.
enum GraphVerdicts {
  /// The retry loops of each cmpxchg: its innermost enclosing `loop`, and every enclosing
  /// `loop` outside that one that has a `break` of its own (a retry written as an outer loop
  /// around one attempt). A loop without a `break` runs forever by design and is not a retry
  /// loop for what its inner loops contain. Per loop: the loop tags whose failing cmpxchgs
  /// are retries of it (nil: not a retry loop).
  static func retryTags(_ program: Program) -> [Set<UInt16>?] {
    var owned = Set<UInt16>()
    for case .cmpxchg(_, _, _, _, let tag) in program.code where tag != 0 { owned.insert(tag) }
    let loops = program.loops
    return loops.indices.map { id in
      let outer = loops[id]
      let tags = Set(loops.indices.filter { inner in
        loops[inner].cpu == outer.cpu && outer.pcs.lowerBound <= loops[inner].pcs.lowerBound
          && loops[inner].pcs.upperBound <= outer.pcs.upperBound
      }.map { UInt16($0 + 1) }).intersection(owned)
      if tags.isEmpty { return nil }
      if tags.contains(UInt16(id + 1)) || outer.hasExit { return tags }
      return nil
    }
  }

  static func cmpxchgTerminates(
    _ program: Program, _ explorer: borrowing BreadthFirst<Program>, budget: inout Budget
  ) -> (PropertyResult, Int) {
    var result = PropertyResult(kind: .cmpxchgTerminates, status: .pass)
    guard explorer.isComplete else {
      result.status = .incomplete
      return (result, 0)
    }
    var subgraphStates = 0
    let bound = program.spec.retryBound
    for (id, tags) in retryTags(program).enumerated() {
      guard let tags else { continue }
      let loop = program.loops[id]
      let retries = [Bool]((0...program.loops.count).map { tags.contains(UInt16($0)) })
      let analysis = explorer.analyzeRetries(
        process: loop.cpu, bound: bound, budget: &budget,
        inLoop: { program.isInLoop($0, loop: id) },
        staysInLoop: { loop.pcs.contains(Int($0.pcLow)) && loop.pcs.contains(Int($0.pcHigh)) },
        isRetry: { $0.retryLoop != 0 && retries[Int($0.retryLoop)] })
      guard let report = analysis else {
        // A livelock already witnessed is final; otherwise nothing is known.
        if result.counterexample == nil { result.status = .incomplete }
        result.details.append("\(program.spec.cpus[loop.cpu].name)'s loop at line "
          + "\(loop.source.start.line): the retry analysis ran out of memory")
        return (result, subgraphStates)
      }
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
        let retries = "\(most) \(most == 1 ? "retry" : "retries")"
        let attempts = "\(most + 1) \(most == 0 ? "attempt" : "attempts")"
        result.details.append(
          "\(where_): at most \(retries) (\(attempts))" + (bound.map { ", bound \($0)" } ?? ""))
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

  /// `terminates`: every program finishes on every weakly fair run. It fails when some
  /// strongly connected set of states where a program has not finished holds a cycle that a
  /// weakly fair scheduler may follow forever (every program steps in it or is disabled
  /// somewhere in it): a busy-wait that can never succeed, a livelock, a program that loops
  /// forever. The counterexample is a lasso.
  static func terminates(
    _ program: Program, _ explorer: borrowing BreadthFirst<Program>, budget: inout Budget
  ) -> (PropertyResult, Int) {
    var result = PropertyResult(kind: .terminates, status: .pass)
    guard explorer.isComplete else {
      result.status = .incomplete
      return (result, 0)
    }
    let analysis = explorer.analyzeRetries(
      process: nil, bound: nil, budget: &budget, inLoop: { !program.isFinished($0) },
      staysInLoop: { _ in true }, isRetry: { _ in true })
    guard let report = analysis else {
      result.status = .incomplete
      result.details.append("the termination analysis ran out of memory (--max-memory or the machine)")
      return (result, 0)
    }
    if let lasso = report.lasso {
      result.status = .fail
      result.counterexample = .lasso(prefix: lasso.prefix, cycle: lasso.cycle)
      result.details.append("a fair run never finishes: it repeats a cycle forever")
    }
    return (result, report.subgraphStates)
  }
}

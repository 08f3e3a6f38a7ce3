import PTState

/// `terminates`: every program finishes on every weakly fair run. Decided on the explored
/// graph (`GraphVerdicts.terminates`, with the search in `RetryAnalysis.swift`).
extension PropertyDescriptor {
  static let terminates = PropertyDescriptor(
    kind: .terminates, decision: .onGraph(GraphVerdicts.terminates), raisedBy: [],
    help: [
      "every program finishes on every weakly fair run (a busy-wait,",
      "livelock or endless loop fails with a lasso)",
    ],
    explain: { trace, p in Explanation.terminates(trace, p) })
}

extension Explanation {
  /// `terminates`: who never finishes in the repeating cycle, and what each is doing there.
  static func terminates(_ trace: Trace, _ p: Program) -> String {
    guard let start = trace.cycleStart else {
      return "some program never finishes"
    }
    let at = start == 0 ? trace.initial : trace.steps[start - 1].after
    let cycle = trace.steps[start...]
    var never: [String] = []
    var doing: [String] = []
    for c in p.spec.cpus.indices {
      let pc = at.contexts[c].pc
      switch p.instruction(cpu: c, pc: pc) {
      case .end, .switchIdle, .crossCallIdle: continue
      default: break
      }
      if p.machine.config.isHandler(c), at.contexts[c].cpu == nil { continue }
      never.append(cpuName(p, c))
      if cycle.contains(where: { programOf($0) == c }) {
        let lines = Set(cycle.filter { programOf($0) == c }.compactMap { $0.location?.start.line })
        let loop = p.loops.first { $0.cpu == c && $0.pcs.contains(pc) }
        let text = lines.sorted().map(String.init).joined(separator: ", ")
        let what = loop.map { "its loop at line \($0.source.start.line)" } ?? "the same steps"
        doing.append(
          "\(cpuName(p, c)) keeps repeating \(what)"
            + (lines.isEmpty ? "" : " (line\(lines.count == 1 ? "" : "s") \(text) in the cycle)"))
      } else if case .spinLock(let l) = p.instruction(cpu: c, pc: pc) {
        let holder = at.lockHolder[Int(l)].map { cpuName(p, $0) } ?? "nobody"
        doing.append("\(cpuName(p, c)) waits for \(p.spec.lockNames[Int(l)]) held by \(holder)")
      } else {
        doing.append("\(cpuName(p, c)) cannot move")
      }
    }
    let who =
      never.count == 1
      ? "\(never[0]) never finishes" : "\(never.joined(separator: " and ")) never finish"
    return "\(who): a fair scheduler can repeat the cycle from step \(start + 1) forever, in which "
      + doing.joined(separator: ", and ") + " (a wait that can never end)"
  }
}

extension GraphVerdicts {
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
      result.details.append(
        "the termination analysis "
          + (budget.stopped.map(\.message) ?? "ran out of memory (--max-memory or the machine)"))
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

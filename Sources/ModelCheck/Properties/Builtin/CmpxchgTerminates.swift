import PTState

/// `cmpxchg_terminates`: every cmpxchg retry loop ends under weak fairness, and within the
/// declared bound. Decided on the explored graph (`GraphVerdicts.cmpxchgTerminates`, with
/// the search in `RetryAnalysis.swift`); no ghost state.
extension PropertyDescriptor {
  static let cmpxchgTerminates = PropertyDescriptor(
    kind: .cmpxchgTerminates, decision: .onGraph(GraphVerdicts.cmpxchgTerminates), raisedBy: [],
    help: [
      "every cmpxchg retry loop terminates under weak fairness;",
      "reports the most retries, checks `check ... bound N`",
    ],
    explain: { trace, p in Explanation.retries(trace, p) })
}

extension Explanation {
  static func retries(_ trace: Trace, _ p: Program) -> String {
    guard let retry = trace.steps.last(where: { $0.retried }) else {
      return "a cmpxchg loop retries without bound"
    }
    let c = retry.action.cpu
    let loop = p.loops.first { $0.cpu == c && $0.pcs.contains(retry.before.contexts[c].pc) }
    let loopText = "\(cpuName(p, c))'s cmpxchg loop\(line(loop?.source))"
    if let start = trace.cycleStart {
      var writers: [Int: [Int]] = [:]  // cpu -> lines
      var order: [Int] = []
      for s in trace.steps[start...] where s.action.kind == .cpuStep && s.action.cpu != c {
        guard p.spec.pteNames.indices.contains(where: { s.before.mem[$0] != s.after.mem[$0] })
        else { continue }
        if writers[s.action.cpu] == nil { order.append(s.action.cpu) }
        if let l = s.location?.start.line, !(writers[s.action.cpu] ?? []).contains(l) {
          writers[s.action.cpu, default: []].append(l)
        }
      }
      let changes = trace.steps[start...].contains { st in
        p.spec.pteNames.indices.contains { st.before.mem[$0] != st.after.mem[$0] }
      }
      if order.isEmpty, !changes {
        return "\(loopText) can fail forever: in the repeating cycle nothing changes the PTE, "
          + "and the value the cmpxchg expects is never there, so every attempt fails the same "
          + "way (a retry must compare against the value it last saw)"
      }
      let who =
        order.isEmpty
        ? "another agent rewrites the PTE"
        : order.map {
          let lines = writers[$0] ?? []
          return "\(cpuName(p, $0)) rewrites the PTE (line\(lines.count == 1 ? "" : "s") "
            + "\(lines.sorted().map(String.init).joined(separator: ", ")))"
        }.joined(separator: " and ")
      return
        "\(loopText) can fail forever: in the repeating cycle \(who) between its read and its "
        + "cmpxchg, without the lock that would exclude it, so hardware is not the only writer "
        + "and the value it expects is never there when it compares"
    }
    let count = trace.steps.filter { $0.retried && $0.action.cpu == c }.count
    let bound = p.spec.retryBound ?? 0
    return
      "\(loopText) retried \(count) \(count == 1 ? "time" : "times"), more than the declared bound "
      + "of \(bound) \(bound == 1 ? "retry" : "retries")"
  }
}

extension GraphVerdicts {
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
        result.details.append(
          "\(program.spec.cpus[loop.cpu].name)'s loop at line "
            + "\(loop.source.start.line): the retry analysis "
            + (budget.stopped.map(\.message) ?? "ran out of memory"))
        return (result, subgraphStates)
      }
      subgraphStates += report.subgraphStates
      let cpuName = program.spec.cpus[loop.cpu].name
      let place = "cmpxchg loop of \(cpuName) at line \(loop.source.start.line)"
      if report.subgraphStates == 0 {
        result.details.append("\(place): never reached")
      } else if let lasso = report.lasso {
        result.details.append("\(place): livelock, it can retry forever under a fair scheduler")
        if result.counterexample == nil {
          result.status = .fail
          result.counterexample = .lasso(prefix: lasso.prefix, cycle: lasso.cycle)
        }
      } else if let most = report.maxRetries {
        let retries = "\(most) \(most == 1 ? "retry" : "retries")"
        let attempts = "\(most + 1) \(most == 0 ? "attempt" : "attempts")"
        result.details.append(
          "\(place): at most \(retries) (\(attempts))" + (bound.map { ", bound \($0)" } ?? ""))
      } else {
        result.details.append("\(place): unbounded retries, but only under an unfair scheduler")
      }
      if let run = report.overBound, result.counterexample == nil {
        result.status = .fail
        result.counterexample = .run(run)
        result.details.append("\(place): exceeds the declared bound of \(bound ?? 0) retries")
      }
    }
    if result.details.isEmpty { result.details.append("no cmpxchg retry loop in the spec") }
    return (result, subgraphStates)
  }
}

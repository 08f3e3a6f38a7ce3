import PTState

/// `no_pt_leak`: no page-table page is freed twice, allocated twice, or left allocated
/// when every program has finished. Raised by `PageTableOps` on a step, and checked on
/// final states (`Program.finalViolations`).
extension PropertyDescriptor {
  static let noPTLeak = PropertyDescriptor(
    kind: .noPTLeak, decision: .onStep, raisedBy: [.ptLeak],
    help: [
      "no page-table page freed twice or never allocated, allocated",
      "while still allocated, or left allocated at the end",
    ],
    explain: { trace, p in
      Explanation.lastStep(.noPTLeak, trace) { Explanation.ptLeak($0, trace, p) }
    })
}

extension Explanation {
  static func ptLeak(_ step: TraceStep, _ trace: Trace, _ p: Program) -> String {
    let names = p.spec.ptPageNames
    let onStep = step.facts.lazy.compactMap { fact -> (Int, Int, PTLeakRule)? in
      if case .ptLeak(let g, let k, let rule) = fact { return (g, k, rule) }
      return nil
    }.first
    if let (g, k, rule) = onStep {
      let what = "\(cpuName(p, k))"
      switch rule {
      case .doubleFree, .neverAllocated:
        return
          "\(what) freed page-table page \(names[g])\(line(step.location)) "
          + (rule == .doubleFree
            ? "a second time: a double free" : "although it was never allocated")
      case .allocatedTwice:
        return
          "\(what) allocated page-table page \(names[g])\(line(step.location)) while it was still "
          + "allocated: the earlier allocation is lost, a leak"
      }
    }
    let leaked = names.indices.filter { step.after.ptPages[$0] == 1 }.map { names[$0] }
    return
      "every program has finished, but page-table page\(leaked.count == 1 ? "" : "s") "
      + "\(leaked.joined(separator: ", ")) \(leaked.count == 1 ? "is" : "are") still allocated "
      + "and no longer reachable: a leak (free_pgtables() only frees pmds that cover mappings; "
      + "pgd_free() must mop up the rest)"
  }
}

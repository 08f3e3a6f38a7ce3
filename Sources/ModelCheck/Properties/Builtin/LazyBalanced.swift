import PTState

/// `lazy_balanced`: the lazy section sits inside the ptl, and ends before the program
/// does. Raised by `LockOps.spinUnlock` and by `SchedulingOps.endProgram`.
extension PropertyDescriptor {
  static let lazyBalanced = PropertyDescriptor(
    kind: .lazyBalanced, decision: .onStep, raisedBy: [.lazyUnbalanced],
    help: [
      "lazy mode left before the program ends, and before a lock",
      "is released that protects a queued write or was held at the",
      "enter of a section with a non-empty batch",
    ],
    explain: { trace, p in
      Explanation.lastStep(.lazyBalanced, trace) { Explanation.lazyBalanced($0, p) }
    })
}

extension Explanation {
  static func lazyBalanced(_ step: TraceStep, _ p: Program) -> String {
    let rules = step.facts.compactMap { fact -> (Int, LazyBalancedRule)? in
      if case .lazyUnbalanced(let k, let rule) = fact { return (k, rule) }
      return nil
    }
    guard let (k, rule) = rules.first else { return "a program broke the lazy-mode discipline" }
    let name = cpuName(p, k)
    switch rule {
    case .unlockWithQueuedWrite(let l, let x):
      return
        "\(name) released \(p.spec.lockNames[l])\(line(step.location)) while its write of "
        + "pte \(p.spec.pteNames[x]) was still queued in its lazy batch: the lazy section "
        + "must sit inside the ptl (leave lazy mode before the unlock, whichever came "
        + "first), or other CPUs can race ahead of the update"
    case .unlockEnteredUnder(let l, let queued):
      return
        "\(name) released \(p.spec.lockNames[l])\(line(step.location)), which it entered "
        + "lazy mode under, while its batch still held \(queued) queued "
        + "\(queued == 1 ? "update" : "updates"): other CPUs can now race ahead of them"
    case .endsLazy:
      return "\(name)'s program ends in lazy mode: arch_leave_lazy_mmu_mode() is missing"
    }
  }
}

import PTState

/// `lazy_nesting`: the flag-based hooks are not nested, and the 2025 nesting counters
/// neither underflow nor leave writes pending. Raised in `LazyMMUOps` and `NestingOps`.
extension PropertyDescriptor {
  static let lazyNesting = PropertyDescriptor(
    kind: .lazyNesting, decision: .onStep, raisedBy: [.lazyNesting],
    help: [
      "no double enter of flag-based lazy mode, no counter underflow,",
      "earlier writes in place after every lazy_mmu_mode_disable()",
    ],
    explain: { trace, p in
      Explanation.lastStep(.lazyNesting, trace) { Explanation.lazyNesting($0, p) }
    })
}

extension Explanation {
  static func lazyNesting(_ step: TraceStep, _ p: Program) -> String {
    let rules = step.facts.compactMap { fact -> (Int, LazyNestingRule)? in
      if case .lazyNesting(let k, let rule) = fact { return (k, rule) }
      return nil
    }
    guard let (k, rule) = rules.first else { return "a program broke the lazy-mode nesting rules" }
    let name = cpuName(p, k)
    switch rule {
    case .resumeUnderflow:
      return "\(name) called lazy_mmu_mode_resume()\(line(step.location)) with pause_count "
        + "already 0: the counter underflows"
    case .enterWhileLazy:
      return
        "\(name) entered lazy mode\(line(step.location)) while already in it: the flag-based "
        + "arch_enter_lazy_mmu_mode() does not nest (only the outermost lazy_mmu_mode_enable() "
        + "may call it)"
    case .leaveWhileNotLazy:
      return "\(name) left lazy mode\(line(step.location)) without having entered it"
    case .disableUnderflow:
      return
        "\(name) called lazy_mmu_mode_disable()\(line(step.location)) with enable_count already 0: "
        + "the counter underflows"
    case .disableLeavesQueued:
      return
        "after \(name)'s lazy_mmu_mode_disable()\(line(step.location)) its earlier page-table "
        + "writes have not all taken effect"
    }
  }
}

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
    let c = step.action.cpu
    let name = cpuName(p, c)
    let a = step.before.contexts[c]
    let b = step.after.contexts[c]
    let queuedCount = a.cpu.map { step.before.cpus[$0].batch.count } ?? 0
    if step.action.kind == .cpuStep {
      switch p.instruction(cpu: c, pc: a.pc) {
      case .spinUnlock(let l)
      where queuedCount > 0
        || step.before.cpus.contains { $0.batch.contains { !$0.isFlush && $0.writer == c } }:
        let lazyLocks = a.cpu.map { step.before.cpus[$0].lazyLocks } ?? 0
        let enteredUnder =
          step.before.isLazy(context: c, perTask: p.machine.config.lazyPerTask)
          && (p.machine.config.lazyPerTask || lazyLocks & (1 << UInt64(l)) != 0)
        if !enteredUnder,
          let x = p.spec.ptlOf.indices.first(where: {
            p.spec.ptlOf[$0] == Int(l) && queued(step.before, by: c, pte: $0)
          })
        {
          return
            "\(name) released \(p.spec.lockNames[Int(l)])\(line(step.location)) while its write of "
            + "pte \(p.spec.pteNames[x]) was still queued in its lazy batch: the lazy section "
            + "must sit inside the ptl (leave lazy mode before the unlock, whichever came "
            + "first), or other CPUs can race ahead of the update"
        }
        return
          "\(name) released \(p.spec.lockNames[Int(l)])\(line(step.location)), which it entered "
          + "lazy mode under, while its batch still held \(queuedCount) queued "
          + "\(queuedCount == 1 ? "update" : "updates"): other CPUs can now race ahead of them"
      default: break
      }
      if step.after.isLazy(context: c, perTask: p.machine.config.lazyPerTask),
        case .end = p.instruction(cpu: c, pc: b.pc)
      {
        return "\(name)'s program ends in lazy mode: arch_leave_lazy_mmu_mode() is missing"
      }
    }
    return "\(name) broke the lazy-mode discipline"
  }
}

import PTState

/// `no_sleep_in_atomic`: nothing sleeps in atomic context. Raised by
/// `NestingOps.mightSleep` (`isAtomic`).
extension PropertyDescriptor {
  static let noSleepInAtomic = PropertyDescriptor(
    kind: .noSleepInAtomic, decision: .onStep, raisedBy: [.sleepInAtomic],
    help: [
      "no might_sleep() with preemption disabled"
    ],
    explain: { trace, p in
      Explanation.lastStep(.noSleepInAtomic, trace) { Explanation.sleepInAtomic($0, p) }
    })
}

extension Explanation {
  static func sleepInAtomic(_ step: TraceStep, _ p: Program) -> String {
    let c = step.action.cpu
    let a = step.before.contexts[c]
    var why: [String] = []
    if p.machine.config.isHandler(c) { why.append("it is an interrupt handler") }
    if let cpu = a.cpu, step.before.cpus[cpu].irqsOff {
      why.append("interrupts are off on \(p.spec.cpuNames[cpu])")
    }
    if a.preemptCount > 0 { why.append("preempt_count is \(a.preemptCount)") }
    let held = p.spec.lockNames.indices.filter { step.before.lockHolder[$0] == c }.map {
      p.spec.lockNames[$0]
    }
    if !held.isEmpty {
      why.append("it holds \(held.joined(separator: ", ")) (a spinlock disables preemption)")
    }
    if step.before.isLazy(context: c, perTask: p.machine.config.lazyPerTask),
      p.machine.config.lazyDisablesPreemption
    {
      why.append("it is inside a lazy MMU section, and this arch disables preemption there")
    }
    return
      "\(cpuName(p, c)) may sleep\(line(step.location)) in atomic context: "
      + "\(why.joined(separator: "; ")) (allocate before entering the section, or with "
      + "GFP_ATOMIC)"
  }
}

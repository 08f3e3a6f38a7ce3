import PTState

/// The why-sentences' parts about cross-calls (`smp_call_function_many`, `CrossCalls.swift`).
extension Explanation {
  /// The function of cross-call handler context `h`, and the CPU it runs on.
  static func crossCallOf(_ p: Program, _ h: Int) -> (name: String, cpu: String)? {
    guard let f = p.spec.cpus[h].crossCallFunction, let t = p.spec.cpus[h].handlerCPU else {
      return nil
    }
    return (p.spec.crossCallFunctions[f], p.spec.cpuNames[t])
  }

  /// How the call at `pc` of program `k` is spelled: `smp_call_function_many` or
  /// `on_each_cpu_mask`.
  static func crossCallSpelling(_ p: Program, cpu k: Int, pc: Int) -> String {
    let text = p.source(cpu: k, pc: pc).map { p.spec.sourceText($0) } ?? ""
    return text.hasPrefix(Sema.onEachCPUName) ? Sema.onEachCPUName : Sema.crossCallName
  }

  /// Whether the call whose queue step is at `pc` of program `k` waits: one of the
  /// instructions lowered from the same statement is its wait.
  static func crossCallWaits(_ p: Program, cpu k: Int, pc: Int) -> Bool {
    let range = p.source(cpu: k, pc: pc)
    let end = k + 1 < p.cpuStart.count ? p.cpuStart[k + 1] : p.code.count
    return (pc..<(end - p.cpuStart[k])).contains { at in
      if case .crossCallWait = p.instruction(cpu: k, pc: at) {
        return p.source(cpu: k, pc: at) == range
      }
      return false
    }
  }

  /// Why program `k` went on while CPU `target` had not run the function it cross-called:
  /// its last `smp_call_function_many` before step `index` without `wait`, whose call is
  /// still pending on `target` then. Nil when there is none.
  static func unwaitedCrossCall(
    _ trace: Trace, _ p: Program, caller k: Int, target: Int, before index: Int
  ) -> String? {
    let now = trace.steps[index].before
    for s in trace.steps[..<index].reversed() where programOf(s) == k {
      let pc = s.before.contexts[k].pc
      guard case .crossCall(_, let f) = p.instruction(cpu: k, pc: pc) else { continue }
      if crossCallWaits(p, cpu: k, pc: pc) { return nil }
      let h = p.crossCallHandlers[Int(f)][target]
      guard h >= 0, now.contexts[h].fired else { return nil }
      let name = p.spec.crossCallFunctions[Int(f)]
      let cpu = p.spec.cpuNames[target]
      let at = s.location.map { ", line \($0.start.line)" } ?? ""
      return
        ": \(cpuName(p, k)) cross-called \(name) on \(cpu) without waiting (wait = 0\(at)), "
        + "and \(cpu) had not finished it, so nothing ordered the flush before the unlock "
        + "(pass wait = 1: \(crossCallSpelling(p, cpu: k, pc: pc)) then returns only once "
        + "every target has run "
        + "the function, as sparc64's smp_flush_tlb_pending does)"
    }
    return nil
  }

  /// Why a cross-call's caller cannot go on: each target whose call is still pending and
  /// why it does not run it. `waiting`: in the wait, else in csd_lock.
  static func crossCallWait(
    _ s: MachineSnapshot, _ p: Program, caller c: Int, function f: Int, waiting: Bool
  ) -> String {
    let name = p.spec.crossCallFunctions[f]
    let pending = p.crossCallHandlers[f].enumerated().filter { t, h in
      h >= 0 && s.contexts[h].fired && s.contexts[c].cpu != t
    }
    let why = pending.map { t, h in
      let cpu = s.cpus[t]
      let state: String
      if s.contexts[h].cpu != nil {
        state = "is running it and cannot finish"
      } else if let irq = cpu.inIRQ {
        state = "is inside interrupt handler \(cpuName(p, irq))"
      } else if cpu.irqsOff {
        state = "has interrupts off"
      } else if cpu.inSwitch {
        state = "is in a context switch"
      } else {
        state = "has not taken the IPI"
      }
      return "\(p.spec.cpuNames[t]) \(state)"
    }
    let pc = s.contexts[c].pc
    let what =
      waiting
      ? "waits in \(crossCallSpelling(p, cpu: c, pc: pc)) for \(name) to finish on its targets"
      : "spins in csd_lock for the previous call of \(name) to finish"
    let tail = why.isEmpty ? "" : ", but \(why.joined(separator: " and "))"
    return "\(cpuName(p, c)) \(what)\(tail)"
  }

  /// `no_warn` at an `smp_call_function_many` called with interrupts off or from an
  /// interrupt handler (kernel/smp.c's WARN_ON_ONCE); nil for any other step.
  static func crossCallWarning(_ step: TraceStep, _ p: Program) -> String? {
    guard let k = programOf(step), let hw = step.before.contexts[k].cpu,
      case .crossCall = p.instruction(cpu: k, pc: step.before.contexts[k].pc)
    else { return nil }
    let context =
      p.machine.config.isHandler(k)
      ? "from interrupt context" : "with interrupts off on \(p.spec.cpuNames[hw])"
    return
      "\(cpuName(p, k)) called \(crossCallSpelling(p, cpu: k, pc: step.before.contexts[k].pc))"
      + "\(line(step.location)) \(context): the "
      + "kernel warns (WARN_ON_ONCE in kernel/smp.c), since a CPU that cannot take interrupts "
      + "deadlocks against a target cross-calling it at the same time"
  }
}

import PTState

/// `no_stale_tlb`: no translation is used after it was removed or downgraded and
/// published, before the flush completed. Raised by `HardwareOps.tlbHit` and
/// `PageTableOps.walkTopLevel`; the ghost state is `flushOwed`, `exposed`, `pgdExposed`.
extension PropertyDescriptor {
  static let noStaleTLB = PropertyDescriptor(
    kind: .noStaleTLB, decision: .onStep, raisedBy: [.staleTLB],
    help: [
      "no use of a translation (TLB entry, cached PAE top-level entry)",
      "after the mapping changed and its lock was released, before",
      "the flush completed",
    ],
    explain: { trace, p in
      Explanation.lastStep(.noStaleTLB, trace) { Explanation.staleTLB($0, trace, p) }
    })
}

extension Explanation {
  static func staleTLB(_ step: TraceStep, _ trace: Trace, _ p: Program) -> String {
    let names = p.spec.pteNames
    guard
      let (x, hw, cached, pgd) = step.facts.lazy.compactMap({ fact in
        if case .staleTLB(let x, let cpu, let cached, let pgd) = fact {
          return (x, cpu, cached, pgd)
        }
        return nil
      }).first
    else { return "a CPU used a stale TLB entry" }
    if let g = pgd {
      let gname = p.spec.pgdNames[g]
      let update = trace.steps.last { s in s.before.pgd[g] != s.after.pgd[g] }
      return
        "\(p.spec.cpuNames[hw]) walked pte \(names[x]) through its cached top-level entry \(gname) "
        + "(\(cached)), but "
        + "\(update.map { cpuName(p, $0.action.cpu) } ?? "software") had changed \(gname) to "
        + "\(step.before.pgd[g])\(line(update?.location)) without a cr3 reload on this CPU: "
        + "PAE CPUs cache the PDPTEs at cr3 load, so the update is not seen (reload cr3 on "
        + "every CPU running the mm, or preallocate the pmds at pgd_alloc)"
    }
    let index = trace.steps.count - 1
    let changeIndex = trace.steps[..<index].lastIndex {
      $0.action.kind == .cpuStep && writtenPTE(p, $0) == x
    }
    let change = changeIndex.map { trace.steps[$0] }
    let user = step.action.kind == .cpuStep ? actor(p, step) : p.spec.cpuNames[hw]
    var why = "\(user) still used its TLB entry for pte \(names[x]) (\(cached))"
    if let change, let changeIndex {
      why +=
        " after \(cpuName(p, change.action.cpu)) changed the PTE to "
        + "\(change.after.logical[x])\(line(change.location))"
      if let l = p.spec.ptlOf[x],
        let unlock = trace.steps[..<index].last(where: { s in
          s.action.kind == .cpuStep && s.before.lockHolder[l] == change.action.cpu
            && s.after.lockHolder[l] == nil
        })
      {
        why +=
          " and released \(p.spec.lockNames[l])\(line(unlock.location)) before the TLB flush "
          + "completed"
      }
      // A shootdown started before the change and waited for after it covers nothing.
      let k = change.action.cpu
      if let si = trace.steps[..<changeIndex].lastIndex(where: { s in
        programOf(s) == k
          && isInstruction(p, s) {
            if case .flushTLBStart(let f) = $0 { return Int(f) == x } else { return false }
          }
      }),
        let waited = trace.steps[changeIndex..<index].last(where: { s in
          programOf(s) == k
            && isInstruction(p, s) {
              if case .flushTLBWait(let f) = $0 { return Int(f) == x } else { return false }
            }
        })
      {
        let started = trace.steps[si]
        return why
          + ": \(cpuName(p, k)) waited for its shootdown\(line(waited.location)), but it had "
          + "started it\(line(started.location)) before changing the PTE, and "
          + "\(p.spec.cpuNames[hw]) cached the old translation again after taking its IPI, so the "
          + "wait guarantees nothing for it (start the shootdown after the PTE changes)"
      }
    }
    if let change, let k = programOf(change),
      let crossCall = unwaitedCrossCall(trace, p, caller: k, target: hw, before: index)
    {
      return why + crossCall
    }
    if let changeIndex, let k = programOf(trace.steps[changeIndex]) {
      if let deferred = deferredFlush(trace, p, writer: k, pte: x, from: changeIndex, to: index) {
        return why + deferred
      }
    }
    return why
      + ": the next holder of the lock may already have freed or reused the page (flush the TLB "
      + "before dropping the lock, as eb66ae030829 does for mremap)"
  }

  /// Why no flush came between a change by program `k` (step `from`) and the stale use
  /// (step `to`): `k` migrated after the change, so the flush it deferred to its old CPU's
  /// batch was not done where it left its lazy section; or no TLB flush ran at all.
  static func deferredFlush(
    _ trace: Trace, _ p: Program, writer k: Int, pte x: Int, from: Int, to: Int
  ) -> String? {
    let steps = trace.steps[from..<to]
    let flushes = steps.contains { s in
      isInstruction(p, s) {
        switch $0 {
        case .flushTLB(let f), .flushTLBStart(let f), .localFlushTLB(let f): return Int(f) == x
        case .localFlushTLBPages, .flushTLBPages, .flushTLBMM, .loadCR3, .crossCall: return true
        default: return false
        }
      }
    }
    let changedOn = trace.steps[from].before.contexts[k].cpu
    if let moved = steps.first(where: { s in
      programOf(s) == k && s.before.contexts[k].cpu != changedOn
    }), let old = changedOn, let new = moved.before.contexts[k].cpu, !flushes {
      let names = p.spec.cpuNames
      return
        ": \(cpuName(p, k)) changed it on \(names[old]) and was then moved to \(names[new]), so "
        + "the flush it deferred on \(names[old]) (in that CPU's lazy batch) was never done: code "
        + "on \(names[new])\(line(moved.location)) flushes \(names[new])'s batch (keep preemption "
        + "off across the lazy section, as b9ef323ea168 and a1d416bf9faf do)"
    }
    guard !flushes else { return nil }
    return
      ": no TLB flush of \(p.spec.pteNames[x]) ran after the change, so the flush it owed was "
      + "still deferred (in a lazy batch, if the backend batches them) when the lock was dropped "
      + "(issue the pending flushes before the unlock: arch_leave_lazy_mmu_mode() flushes the "
      + "batch)"
  }
}

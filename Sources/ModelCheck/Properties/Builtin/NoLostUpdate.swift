import PTState

/// `no_lost_update`: no software update of a PTE is lost. Raised by `PTEOps.issueWrite`
/// (a write on a stale view, a blind write over another program's write) and
/// `LazyMMUOps.applyBatchEntry` (an older batched write landing over a newer one); the
/// ghost state is `view`, `lastWriter` and `lastWriteBlind`.
extension PropertyDescriptor {
  static let noLostUpdate = PropertyDescriptor(
    kind: .noLostUpdate, decision: .onStep, raisedBy: [.lostUpdate],
    help: [
      "no write on a stale view of a PTE, no blind write over",
      "another program's write, no batched write landing over a",
      "newer one",
    ],
    explain: { trace, p in
      Explanation.lastStep(.noLostUpdate, trace) { Explanation.lostUpdate($0, trace, p) }
    })
}

extension Explanation {
  static func lostUpdate(_ step: TraceStep, _ trace: Trace, _ p: Program) -> String {
    let names = p.spec.pteNames
    let index = trace.steps.count - 1
    guard
      let (x, w, other, rule) = step.facts.lazy.compactMap({ fact in
        if case .lostUpdate(let x, let w, let other, let rule) = fact { return (x, w, other, rule) }
        return nil
      }).first
    else { return "a software update of a PTE was lost" }
    // A batched write landing over a newer one: the step applied a batch (a program's
    // leave or flush, the hypervisor's early flush, a context switch).
    if rule == .lateLanding {
      let me = cpuName(p, w)
      let queued = trace.steps[..<index].last { programOf($0) == w && writtenPTE(p, $0) == x }
      let newer = trace.steps[..<index].last { programOf($0) == other && writtenPTE(p, $0) == x }
      var why =
        "\(me)'s batched write to pte \(names[x])\(line(queued?.location)) landed as "
        + "\(step.after.mem[x])"
      if let newer, let k = programOf(newer) {
        why +=
          " over \(cpuName(p, k))'s newer write of \(newer.after.logical[x])"
          + "\(line(newer.location)), which is lost,"
      }
      why += flushedBy(step, p)
      if let l = p.spec.ptlOf[x], let u = earlyUnlock(trace, p, program: w, lock: l) {
        why +=
          ": \(me) released \(p.spec.lockNames[l])\(line(u.location)) before its batch was flushed"
      }
      return why
    }
    // A write based on a stale view, or a blind write over another blind write.
    let c = w
    let me = cpuName(p, c)
    let read = trace.steps[..<index].last { programOf($0) == c && readPTE(p, $0) == x }
    let latest = trace.steps[..<index].last { programOf($0) == other && writtenPTE(p, $0) == x }
    var why = "\(me) wrote pte \(names[x])\(line(step.location))"
    if let read {
      why += " on the strength of its read\(line(read.location)), which saw \(read.before.mem[x])"
    }
    if let latest, let k = other {
      let them = cpuName(p, k)
      if case .blindOverwrite(let looked) = rule {
        why +=
          " without looking at it, over \(them)'s write of \(latest.after.logical[x])"
          + "\(line(latest.location))"
          + (looked
            ? ", so \(them)'s update is lost (an install by intent states it the kernel's way, "
              + "BUG_ON(!pte_none(ptep_get(pte))) as remap_pte_range() does, which looks first)"
            : ", made without looking too: both installed the PTE blindly, so \(them)'s mapping "
              + "is lost")
        if looked { return why }
      } else {
        why +=
          ", but the latest write to it was \(them)'s \(latest.after.logical[x])"
          + "\(line(latest.location)), which that read did not see: \(them)'s update is lost"
      }
    } else {
      why += ", but its view of the PTE was no longer current: an update is lost"
    }
    return why + " (re-check the PTE under the lock before acting on it)"
  }
}

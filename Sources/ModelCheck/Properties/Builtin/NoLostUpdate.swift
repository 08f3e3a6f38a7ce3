import PTState

/// `no_lost_update`: no software update of a PTE is lost. Raised by `PTEOps.issueWrite`
/// (a write on a stale view, a blind install over a blind install) and
/// `LazyMMUOps.applyBatchEntry` (an older batched write landing over a newer one); the
/// ghost state is `view`, `lastWriter` and `lastWriteBlind`.
extension PropertyDescriptor {
  static let noLostUpdate = PropertyDescriptor(
    kind: .noLostUpdate, decision: .onStep, raisedBy: [.lostUpdate],
    help: [
      "no write on a stale view of a PTE, no blind install over",
      "another program's blind install, no batched write landing",
      "over a newer one",
    ],
    explain: { trace, p in
      Explanation.lastStep(.noLostUpdate, trace) { Explanation.lostUpdate($0, trace, p) }
    })
}

extension Explanation {
  static func lostUpdate(_ step: TraceStep, _ trace: Trace, _ p: Program) -> String {
    let names = p.spec.pteNames
    let index = trace.steps.count - 1
    // A batched write landing over a newer one: the step applied a batch (a program's
    // leave or flush, the hypervisor's early flush, a context switch).
    if let hw = hardwareCPU(p, step),
      let (x, w) = names.indices.lazy.compactMap({ x in
        step.before.mem[x] != step.after.mem[x]
          ? step.before.cpus[hw].batch.last(where: { $0.pte == x && !$0.isFlush }).map {
            (x, $0.writer)
          }
          : nil
      }).first
    {
      let me = cpuName(p, w)
      let queued = trace.steps[..<index].last { programOf($0) == w && writtenPTE(p, $0) == x }
      let newer = trace.steps[..<index].last {
        programOf($0).map { $0 != w } ?? false && writtenPTE(p, $0) == x
      }
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
    guard let c = programOf(step), let x = writtenPTE(p, step) else {
      return "a software update of a PTE was lost"
    }
    let me = cpuName(p, c)
    let read = trace.steps[..<index].last { programOf($0) == c && readPTE(p, $0) == x }
    let other = trace.steps[..<index].last {
      programOf($0).map { $0 != c } ?? false && writtenPTE(p, $0) == x
    }
    var why = "\(me) wrote pte \(names[x])\(line(step.location))"
    if let read {
      why += " on the strength of its read\(line(read.location)), which saw \(read.before.mem[x])"
    }
    if let other, let k = programOf(other) {
      let them = cpuName(p, k)
      if read == nil {
        why +=
          " without looking at it, over \(them)'s write of \(other.after.logical[x])"
          + "\(line(other.location)), made without looking too: both installed the PTE blindly, "
          + "so \(them)'s mapping is lost"
      } else {
        why +=
          ", but the latest write to it was \(them)'s \(other.after.logical[x])"
          + "\(line(other.location)), which that read did not see: \(them)'s update is lost"
      }
    } else {
      why += ", but its view of the PTE was no longer current: an update is lost"
    }
    return why + " (re-check the PTE under the lock before acting on it)"
  }
}

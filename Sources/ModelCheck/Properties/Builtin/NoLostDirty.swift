import PTState

/// `no_lost_dirty`: no A/D bit set by hardware is lost. Raised by `PTEOps.land` (a landing
/// drops an unowned tracked bit), `HardwareOps.hardwareAccess` (a bit set through a stale
/// shadow entry) and `HardwareOps.tlbHit` (a store through a dirty TLB entry over a clean
/// PTE); the ghost state is `unowned`.
extension PropertyDescriptor {
  static let noLostDirty = PropertyDescriptor(
    kind: .noLostDirty, decision: .onStep, raisedBy: [.lostDirty],
    help: [
      "no hardware-set dirty (or, with `track accessed`, accessed)",
      "bit is dropped by a write whose author never took it over",
      "with an atomic exchange, and no store goes through a dirty",
      "TLB entry over a clean PTE",
    ],
    explain: { trace, p in
      Explanation.lastStep(.noLostDirty, trace) { Explanation.lostDirty($0, trace, p) }
    })
}

extension Explanation {
  static func lostDirty(_ step: TraceStep, _ trace: Trace, _ p: Program) -> String {
    let names = p.spec.pteNames
    let a = step.before
    let b = step.after
    guard
      let (x, lost, value, rule) = step.facts.lazy.compactMap({ fact in
        if case .lostDirty(let x, let bits, let value, _, let rule) = fact {
          return (x, bits, value, rule)
        }
        return nil
      }).first
    else {
      return
        "a hardware-set dirty bit was overwritten by a write whose author never read it atomically"
    }
    switch rule {
    case .dirtyTLBStore:
      let hw = hardwareCPU(p, step) ?? 0
      let cached = a.cpus[hw].tlb[x]
      let clean = trace.steps.last {
        programOf($0) != nil && writtenPTE(p, $0) == x && !$0.after.logical[x].isDirty
      }
      let cleaner = clean.flatMap(programOf).map { cpuName(p, $0) } ?? "software"
      return "\(hardwareActor(p, step)) stored through its TLB entry for pte \(names[x]) "
        + "(\(cached)), which is writable and dirty, so it did not set Dirty in the PTE; but "
        + "\(cleaner) had made the PTE "
        + "clean\(clean?.location.map { " at line \($0.start.line)" } ?? "") (\(value)) "
        + "without a TLB "
        + "flush: the page is treated as clean and the store is lost (flush the TLB after clearing "
        + "Dirty, as page_mkclean_one() does)"
    case .staleShadow:
      return
        "\(hardwareActor(p, step)) set \(bitNames(lost)) through "
        + "a stale shadow entry of pte \(names[x]) after the guest entry was changed to "
        + "\(value): the hypervisor has nowhere to record it, so it is lost"
    case .remap, .dropped:
      break
    }
    // A software write landed and dropped bits that hardware set.
    let setter = trace.steps.last { s in
      (s.action.kind == .hardwareAccess || Trace.isTouch(p, s.action, s.before))
        && (s.after.mem[x].rawValue & ~s.before.mem[x].rawValue & lost) != 0
    }
    let setterText =
      setter.map { "\(hardwareActor(p, $0)) set \(bitNames(lost)) on pte \(names[x])" }
      ?? "hardware set \(bitNames(lost)) on pte \(names[x])"
    let who: String
    let landed = a.cpus.indices.contains { c in
      a.cpus[c].batch.contains { $0.pte == x } && b.cpus[c].batch.allSatisfy { $0.pte != x }
    }
    switch step.action.kind {
    case .earlyFlush:
      who = "the hypervisor's early flush of \(p.spec.cpuNames[step.action.cpu])'s batch"
    default:
      if landed {
        let queuedAt = trace.steps.last {
          $0.action.kind == .cpuStep && writtenPTE(p, $0) == x
            && $0.before.mem[x] == $0.after.mem[x]
        }
        let flush =
          step.action.kind == .contextSwitch
          ? "the context switch on \(p.spec.cpuNames[step.action.cpu]) flushed the batch"
          : "\(actor(p, step))'s batch was flushed\(line(step.location))"
        who = "the write queued\(line(queuedAt?.location)), applied when \(flush),"
      } else {
        who = "\(actor(p, step))'s write\(line(step.location))"
      }
    }
    if isInstruction(p, step, { if case .nativeClear = $0 { true } else { false } }) {
      let users =
        p.machine.config.initialMMUsers == nil
        ? "" : " (mm_users is \(a.cpus.indices.filter { a.runsMM[$0] }.count))"
      let liveSetter = setterText.replacingPrefix(
        "hardware", with: "the hardware of a CPU that still runs the mm")
      return
        "\(cpuName(p, step.action.cpu))'s ptep_get_and_clear_full(\(names[x]), "
        + "1)\(line(step.location)) read the PTE and then cleared it with a plain store "
        + "(native_pte_clear); in between, \(liveSetter)\(users): the \(bitNames(lost)) bit "
        + "is lost (the full-mm shortcut is safe only after the last mmput)"
    }
    if isInstruction(p, step, { if case .cmpxchg = $0 { true } else { false } }) {
      return
        "\(setterText), then \(cpuName(p, step.action.cpu))'s cmpxchg\(line(step.location)) "
        + "stored \(value) over it without carrying the \(bitNames(lost)) bit it replaced: "
        + "the bit is lost (a cmpxchg update must carry the A/D bits it saw, as "
        + "update_intpte() does)"
    }
    if rule == .remap {
      return
        "\(setterText), then \(who) replaced the entry with \(value) without reading it "
        + "atomically: the old page's \(bitNames(lost)) bit is lost (use ptep_get_and_clear() "
        + "and pass the bit on to the page)"
    }
    return
      "\(setterText), then \(who) stored \(value) over it: the \(bitNames(lost)) bit is lost "
      + "because the writer computed its value from a plain read and never read the PTE "
      + "atomically (use ptep_modify_prot_start/commit or an atomic read-modify-write)"
  }
}

import PTState

/// One sentence, in kernel terms, that says why a property failed on a trace.
enum Explanation {
  static func why(_ property: PropertyKind, _ trace: Trace, _ program: Program) -> String {
    guard let last = trace.steps.last else { return "the initial state already violates \(property.name)" }
    switch property {
    case .noStaleRead: return staleRead(last, trace, program)
    case .noLostDirty: return lostDirty(last, trace, program)
    case .deadlockFree: return deadlock(last.after, program)
    case .lazyBalanced: return lazyBalanced(last, program)
    case .cmpxchgTerminates: return retries(trace, program)
    case .noLostUpdate: return lostUpdate(last, trace, program)
    case .lazyNesting: return lazyNesting(last, program)
    case .noSleepInAtomic: return sleepInAtomic(last, program)
    case .noStaleTLB: return staleTLB(last, trace, program)
    case .noPTLeak: return ptLeak(last, trace, program)
    case .terminates: return terminates(trace, program)
    }
  }

  /// The PTE a software write step writes, if any.
  static func writtenPTE(_ p: Program, _ step: TraceStep) -> Int? {
    guard step.action.kind == .cpuStep else { return nil }
    switch p.instruction(cpu: step.action.cpu, pc: step.before.contexts[step.action.cpu].pc) {
    case .setPTE(let x, _), .modifyProtCommit(let x, _), .getAndClear(_, let x), .xchg(_, let x, _), .cmpxchg(_, let x, _, _, _):
      return Int(x)
    default: return nil
    }
  }

  static func lostUpdate(_ step: TraceStep, _ trace: Trace, _ p: Program) -> String {
    let names = p.spec.pteNames
    let index = trace.steps.count - 1
    // A batched write landing over a newer one: the step applied a batch (a program's
    // leave or flush, the hypervisor's early flush, a context switch).
    if let hw = hardwareCPU(p, step), let (x, w) = names.indices.lazy.compactMap({ x in
      step.before.mem[x] != step.after.mem[x]
        ? step.before.cpus[hw].batch.last(where: { $0.pte == x && !$0.isFlush }).map { (x, $0.writer) }
        : nil
    }).first {
      let me = cpuName(p, w)
      let queued = trace.steps[..<index].last { programOf($0) == w && writtenPTE(p, $0) == x }
      let newer = trace.steps[..<index].last {
        programOf($0).map { $0 != w } ?? false && writtenPTE(p, $0) == x
      }
      var why = "\(me)'s batched write to pte \(names[x])\(line(queued?.location)) landed as "
        + "\(step.after.mem[x])"
      if let newer, let k = programOf(newer) {
        why += " over \(cpuName(p, k))'s newer write of \(newer.after.logical[x])"
          + "\(line(newer.location)), which is lost,"
      }
      why += flushedBy(step, p)
      if let l = p.spec.ptlOf[x], let u = earlyUnlock(trace, p, program: w, lock: l) {
        why += ": \(me) released \(p.spec.lockNames[l])\(line(u.location)) before its batch was flushed"
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
    if let read { why += " on the strength of its read\(line(read.location)), which saw \(read.before.mem[x])" }
    if let other, let k = programOf(other) {
      let them = cpuName(p, k)
      if read == nil {
        why += " without looking at it, over \(them)'s write of \(other.after.logical[x])"
          + "\(line(other.location)), made without looking too: both installed the PTE blindly, "
          + "so \(them)'s mapping is lost"
      } else {
        why += ", but the latest write to it was \(them)'s \(other.after.logical[x])"
          + "\(line(other.location)), which that read did not see: \(them)'s update is lost"
      }
    } else {
      why += ", but its view of the PTE was no longer current: an update is lost"
    }
    return why + " (re-check the PTE under the lock before acting on it)"
  }

  /// The program whose step this is (nil for the hardware, the hypervisor, the scheduler,
  /// an interrupt firing or an IPI).
  static func programOf(_ step: TraceStep) -> Int? {
    step.action.kind == .cpuStep ? step.action.cpu : nil
  }

  /// Who acted in a step, named as the kernel would: a program, a CPU's hardware (a CPU is
  /// not its program), the hypervisor, the scheduler.
  static func actor(_ p: Program, _ step: TraceStep) -> String {
    let a = step.action
    switch a.kind {
    case .cpuStep, .interrupt: return cpuName(p, a.cpu)
    case .hardwareAccess, .tlbEvict: return "\(p.spec.cpuNames[a.cpu])'s hardware"
    case .shootdownIPI: return p.spec.cpuNames[a.cpu]
    case .earlyFlush: return "the hypervisor"
    case .contextSwitch: return "the scheduler on \(p.spec.cpuNames[a.cpu])"
    }
  }

  /// How a step that applied a batch came to apply it, for the sentence (empty for a
  /// program's own leave or flush).
  static func flushedBy(_ step: TraceStep, _ p: Program) -> String {
    switch step.action.kind {
    case .earlyFlush: return " when the hypervisor flushed \(p.spec.cpuNames[step.action.cpu])'s batch early"
    case .contextSwitch: return " when the context switch on \(p.spec.cpuNames[step.action.cpu]) flushed the batch"
    default: return step.location.map { " when the batch was flushed at line \($0.start.line)" } ?? ""
    }
  }

  static func cpuName(_ p: Program, _ c: Int) -> String { p.spec.cpus[c].name }

  /// The physical CPU whose hardware acted in a step (a `hardware` line, or a program's
  /// `touch`), by name.
  static func hardwareName(_ p: Program, _ step: TraceStep) -> String {
    hardwareCPU(p, step).map { p.spec.cpuNames[$0] } ?? actor(p, step)
  }

  /// Whether a program step is at an instruction satisfying `test`.
  static func isInstruction(_ p: Program, _ step: TraceStep, _ test: (Instruction) -> Bool) -> Bool {
    guard let k = programOf(step) else { return false }
    return test(p.instruction(cpu: k, pc: step.before.contexts[k].pc))
  }

  /// The physical CPU a step happened on.
  static func hardwareCPU(_ p: Program, _ step: TraceStep) -> Int? {
    switch step.action.kind {
    case .cpuStep: return step.before.contexts[step.action.cpu].cpu
    case .interrupt: return p.spec.cpus[step.action.cpu].handlerCPU
    default: return step.action.cpu
    }
  }

  /// Whether program `k` has a write to `pte` queued in some CPU's batch.
  static func queued(_ s: MachineSnapshot, by k: Int, pte x: Int) -> Bool {
    s.cpus.contains { $0.batch.contains { $0.pte == x && !$0.isFlush && $0.writer == k } }
  }

  /// A program with a write to `pte` queued in some CPU's batch, if any.
  static func queuedWriter(_ s: MachineSnapshot, pte x: Int) -> Int? {
    for cpu in s.cpus { if let e = cpu.batch.first(where: { $0.pte == x && !$0.isFlush }) { return e.writer } }
    return nil
  }

  static func line(_ r: SourceRange?) -> String { r.map { " (line \($0.start.line))" } ?? "" }

  /// The PTE an instruction reads, if any.
  static func readPTE(_ p: Program, _ step: TraceStep) -> Int? {
    guard step.action.kind == .cpuStep else { return step.action.kind == .hardwareAccess ? step.action.pte : nil }
    switch p.instruction(cpu: step.action.cpu, pc: step.before.contexts[step.action.cpu].pc) {
    case .ptepGet(_, let x), .getAndClear(_, let x), .xchg(_, let x, _), .cmpxchg(_, let x, _, _, _),
      .modifyProtStart(_, let x), .touch(_, let x, _):
      return Int(x)
    default: return nil
    }
  }

  /// The last step at which program `k` released `lock` with a lazy batch still holding
  /// entries on the CPU it ran on.
  static func earlyUnlock(_ trace: Trace, _ p: Program, program k: Int, lock: Int) -> TraceStep? {
    trace.steps.last { s in
      guard programOf(s) == k, let hw = s.before.contexts[k].cpu else { return false }
      return s.before.lockHolder[lock] == k && s.after.lockHolder[lock] == nil
        && !s.before.cpus[hw].batch.isEmpty
    }
  }

  /// The step that issued the software write giving `pte` its logical value.
  static func lastWrite(_ trace: Trace, pte: Int, before index: Int) -> TraceStep? {
    trace.steps[..<index].last { step in
      guard step.action.kind == .cpuStep else { return false }
      let mask = ~PTE.hardwareBits
      return step.before.logical[pte].rawValue & mask != step.after.logical[pte].rawValue & mask
    }
  }

  static func staleRead(_ step: TraceStep, _ trace: Trace, _ p: Program) -> String {
    let names = p.spec.pteNames
    guard let x = readPTE(p, step) else { return "an entitled reader saw a stale PTE" }
    let s = step.before
    let latest = s.logical[x]
    let writer = lastWrite(trace, pte: x, before: trace.steps.count - 1)
    let writerText = writer.map { "\(cpuName(p, $0.action.cpu)) had already written \(latest)\(line($0.location))" } ?? "its latest value is \(latest)"
    let isHardware = step.action.kind == .hardwareAccess || Trace.isTouch(p, step.action, s)
    let reader = actor(p, step)
    if let k = programOf(step), Trace.isTouch(p, step.action, s), let hw = s.contexts[k].cpu,
      Trace.isTLBHit(p, step.action, s)
    {
      let cached = s.cpus[hw].tlb[x]
      let own = writer.flatMap(programOf) == k
      return "\(reader) used its TLB entry for pte \(names[x]) (\(cached))\(line(step.location)), "
        + "but \(own ? "it had itself written \(latest)\(line(writer?.location))" : writerText) "
        + "since that entry was cached, and nothing flushed \(p.spec.cpuNames[hw])'s TLB: the "
        + "access went to the old translation (flush the local TLB when the mapping changes, as "
        + "kunmap_atomic() does with __flush_tlb_one())"
    }
    if isHardware {
      let seen = p.machine.config.mode == .shadow ? (s.shadow?[x] ?? s.mem[x]) : s.mem[x]
      if step.action.kind == .cpuStep, p.machine.config.isHandler(step.action.cpu), queued(s, by: step.action.cpu, pte: x) {
        return "\(reader), an interrupt handler, used the mapping of pte \(names[x])\(line(step.location)) right after writing \(latest) to it\(line(writer?.location)), but that write was queued in the batch of the lazy section it interrupted, so the access walked the old entry \(seen): the handler was lazy by accident (interrupt context must never be lazy)"
      }
      if step.action.kind == .cpuStep, queued(s, by: step.action.cpu, pte: x) {
        return "\(reader) used the mapping of pte \(names[x])\(line(step.location)) right after writing \(latest) to it\(line(writer?.location)), but that write is still queued in its lazy batch, so the access walked the old entry \(seen) (apply it first with arch_flush_lazy_mmu_mode(), as kmap_atomic() does)"
      }
      let queued = queuedWriter(s, pte: x)
      let flush = trace.steps.last { step in
        if step.action.kind == .cpuStep, case .flushTLB(let f) = p.instruction(cpu: step.action.cpu, pc: step.before.contexts[step.action.cpu].pc) { return Int(f) == x }
        return false
      }
      let what = p.machine.config.mode == .shadow
        ? "the hypervisor's sync of the shadow entry is" : "the write is"
      let reason = queued.map { "; \(what) still queued in \(cpuName(p, $0))'s lazy batch, so the TLB flush\(line(flush?.location)) came before the update it was meant to follow" } ?? ""
      return "\(hardwareName(p, step))'s hardware walked pte \(names[x]) after a TLB flush and saw \(seen), but \(writerText)\(reason)"
    }
    let seen: PTE = s.mem[x]
    if let here = s.contexts[step.action.cpu].cpu,
      let there = s.cpus.indices.first(where: { c in s.cpus[c].batch.contains { $0.pte == x && $0.writer == step.action.cpu } }),
      there != here
    {
      let moved = trace.steps.last { $0.action.kind == .contextSwitch && $0.action.pte == step.action.cpu + 1 }
      return "\(reader) read pte \(names[x])\(line(step.location)) on \(p.spec.cpuNames[here]) and saw \(seen), but its own write of \(latest)\(line(writer?.location)) is still queued in \(p.spec.cpuNames[there])'s batch: \(reader) was moved to \(p.spec.cpuNames[here])\(moved == nil ? "" : " by the scheduler") inside its lazy section, and with lazy state per CPU and no context-switch hooks its batch stayed behind (disable preemption in the section, or flush on the way out as Xen's hooks do)"
    }
    if queued(s, by: step.action.cpu, pte: x) {
      return "\(reader) read pte \(names[x]) back inside its lazy section and saw \(seen), but it had written \(latest)\(line(writer?.location)), which is still queued in its own batch (a read hazard: flush with arch_flush_lazy_mmu_mode() before reading)"
    }
    let lockName = p.spec.ptlOf[x].map { p.spec.lockNames[$0] } ?? "its lock"
    if let w = queuedWriter(s, pte: x) {
      var why = "it is still queued in \(cpuName(p, w))'s lazy batch"
      if let l = p.spec.ptlOf[x], let u = earlyUnlock(trace, p, program: w, lock: l) {
        why += " because \(cpuName(p, w)) released \(p.spec.lockNames[l])\(line(u.location)) before leaving lazy mode"
      }
      return "\(reader) read pte \(names[x]) under \(lockName) and saw \(seen), but \(writerText); \(why)"
    }
    return "\(reader) read pte \(names[x]) under \(lockName) and saw \(seen), but \(writerText)"
  }

  static func bitNames(_ bits: UInt8) -> String {
    var parts: [String] = []
    if bits & PTE.dirtyBit != 0 { parts.append("dirty") }
    if bits & PTE.accessedBit != 0 { parts.append("accessed") }
    return parts.joined(separator: " and ")
  }

  static func lostDirty(_ step: TraceStep, _ trace: Trace, _ p: Program) -> String {
    let names = p.spec.pteNames
    let tracked = p.machine.config.trackedHardwareBits
    let a = step.before, b = step.after
    // A software write dropped bits that hardware set.
    for x in names.indices {
      let remapped = a.mem[x].isPresent && (!b.mem[x].isPresent || a.mem[x].pfn != b.mem[x].pfn)
      let lost = (remapped ? a.unowned[x] : a.unowned[x] & ~b.mem[x].rawValue) & tracked
      guard lost != 0, a.mem[x] != b.mem[x] || a.unowned[x] != b.unowned[x] else { continue }
      let setter = trace.steps.last { s in
        (s.action.kind == .hardwareAccess || Trace.isTouch(p, s.action, s.before)) && (s.after.mem[x].rawValue & ~s.before.mem[x].rawValue & lost) != 0
      }
      let setterText = setter.map { "\(hardwareName(p, $0))'s hardware set \(bitNames(lost)) on pte \(names[x])" } ?? "hardware set \(bitNames(lost)) on pte \(names[x])"
      let who: String
      let landed = a.cpus.indices.contains { c in a.cpus[c].batch.contains { $0.pte == x } && b.cpus[c].batch.allSatisfy { $0.pte != x } }
      switch step.action.kind {
      case .earlyFlush: who = "the hypervisor's early flush of \(p.spec.cpuNames[step.action.cpu])'s batch"
      default:
        if landed {
          let queuedAt = trace.steps.last { $0.action.kind == .cpuStep && writtenPTE(p, $0) == x && $0.before.mem[x] == $0.after.mem[x] }
          let flush = step.action.kind == .contextSwitch
            ? "the context switch on \(p.spec.cpuNames[step.action.cpu]) flushed the batch"
            : "\(actor(p, step))'s batch was flushed\(line(step.location))"
          who = "the write queued\(line(queuedAt?.location)), applied when \(flush),"
        } else {
          who = "\(actor(p, step))'s write\(line(step.location))"
        }
      }
      if step.action.kind == .cpuStep, case .nativeClear = p.instruction(cpu: step.action.cpu, pc: a.contexts[step.action.cpu].pc) {
        let users = p.machine.config.initialMMUsers == nil ? "" : " (mm_users is \(a.cpus.indices.filter { a.runsMM[$0] }.count))"
        return "\(cpuName(p, step.action.cpu))'s ptep_get_and_clear_full(\(names[x]), 1)\(line(step.location)) read the PTE and then cleared it with a plain store (native_pte_clear); in between, \(setterText.replacingPrefix("hardware", with: "the hardware of a CPU that still runs the mm"))\(users): the \(bitNames(lost)) bit is lost (the full-mm shortcut is safe only after the last mmput)"
      }
      if step.action.kind == .cpuStep, case .cmpxchg = p.instruction(cpu: step.action.cpu, pc: a.contexts[step.action.cpu].pc) {
        return "\(setterText), then \(cpuName(p, step.action.cpu))'s cmpxchg\(line(step.location)) stored \(b.mem[x]) over it without carrying the \(bitNames(lost)) bit it replaced: the bit is lost (a cmpxchg update must carry the A/D bits it saw, as update_intpte() does)"
      }
      if a.mem[x].pfn != b.mem[x].pfn || !b.mem[x].isPresent {
        return "\(setterText), then \(who) replaced the entry with \(b.mem[x]) without reading it atomically: the old page's \(bitNames(lost)) bit is lost (use ptep_get_and_clear() and pass the bit on to the page)"
      }
      return "\(setterText), then \(who) stored \(b.mem[x]) over it: the \(bitNames(lost)) bit is lost because the writer computed its value from a plain read and never read the PTE atomically (use ptep_modify_prot_start/commit or an atomic read-modify-write)"
    }
    if let x = readPTE(p, step), let hw = hardwareCPU(p, step), Trace.isTLBHit(p, step.action, a) {
      let cached = a.cpus[hw].tlb[x]
      let clean = trace.steps.last { programOf($0) != nil && writtenPTE(p, $0) == x && !$0.after.logical[x].isDirty }
      let cleaner = clean.flatMap(programOf).map { cpuName(p, $0) } ?? "software"
      return "\(hardwareName(p, step))'s hardware stored through its TLB entry for pte \(names[x]) "
        + "(\(cached)), which is writable and dirty, so it did not set Dirty in the PTE; but "
        + "\(cleaner) had made the PTE clean\(clean?.location.map { " at line \($0.start.line)" } ?? "") (\(a.mem[x])) without a TLB "
        + "flush: the page is treated as clean and the store is lost (flush the TLB after clearing "
        + "Dirty, as page_mkclean_one() does)"
    }
    if p.machine.config.mode == .shadow, let x = readPTE(p, step) {
      return "\(hardwareName(p, step))'s hardware set \(bitNames(tracked & (PTE.hardwareBits))) through a stale shadow entry of pte \(names[x]) after the guest entry was changed to \(a.mem[x]): the hypervisor has nowhere to record it, so it is lost"
    }
    return "a hardware-set dirty bit was overwritten by a write whose author never read it atomically"
  }

  static func deadlock(_ s: MachineSnapshot, _ p: Program) -> String {
    var waits: [String] = []
    var lockWaiters = 0
    var spinning = false
    for c in p.spec.cpus.indices {
      let pc = s.contexts[c].pc
      switch p.instruction(cpu: c, pc: pc) {
      case .end: continue
      case .spinLock(let l):
        let holder = s.lockHolder[Int(l)].map { cpuName(p, $0) } ?? "nobody"
        waits.append("\(cpuName(p, c)) waits for \(p.spec.lockNames[Int(l)]) held by \(holder)")
        lockWaiters += 1
      case .flushTLBWait(let x):
        let targets = s.cpus.indices.filter { s.cpus[$0].ipiPending[Int(x)] }
        let why = targets.map { t in
          let cpu = s.cpus[t]
          let state = cpu.inIRQ.map { "is inside interrupt handler \(cpuName(p, $0))" }
            ?? (cpu.irqsOff ? "has interrupts off" : "has not taken it")
          return "\(p.spec.cpuNames[t]) \(state)"
        }
        waits.append("\(cpuName(p, c)) waits in flush_tlb_wait(\(p.spec.pteNames[Int(x)])) for "
          + "the shootdown IPI it sent, but \(why.joined(separator: " and ")), so it cannot take it")
      default:
        guard p.machine.config.isHandler(c) ? s.contexts[c].cpu != nil : true,
          let loop = p.loops.last(where: { $0.cpu == c && $0.pcs.contains(pc) })
        else { continue }
        spinning = true
        waits.append("\(cpuName(p, c)) spins in its loop\(line(loop.source)) and nothing it "
          + "looks at can change")
      }
    }
    if waits.isEmpty { return "some program has not finished and no program can move" }
    if spinning {
      return waits.joined(separator: ", and ") + ": nobody can make progress (a busy-wait that "
        + "can never succeed: the waker needs something the waiter holds)"
    }
    var holders: [Int] = []
    for c in p.spec.cpus.indices {
      if case .spinLock(let l) = p.instruction(cpu: c, pc: s.contexts[c].pc), let h = s.lockHolder[Int(l)] { holders.append(h == c ? -1 : h) }
    }
    let why: String
    if lockWaiters < waits.count {
      why = "a CPU spinning with interrupts off cannot take the shootdown IPI it is waited for"
    } else {
      why = holders.contains(-1) ? "a program spins on a lock it already holds" : (waits.count > 1 ? "the locks are taken in opposite orders" : "the lock's holder cannot release it")
    }
    return waits.joined(separator: ", and ") + ": nobody can move (\(why))"
  }

  /// `terminates`: who never finishes in the repeating cycle, and what each is doing there.
  static func terminates(_ trace: Trace, _ p: Program) -> String {
    guard let start = trace.cycleStart, start < trace.steps.count || start > 0 else {
      return "some program never finishes"
    }
    let at = start == 0 ? trace.initial : trace.steps[start - 1].after
    let cycle = trace.steps[start...]
    var never: [String] = []
    var doing: [String] = []
    for c in p.spec.cpus.indices {
      let pc = at.contexts[c].pc
      if case .end = p.instruction(cpu: c, pc: pc) { continue }
      if p.machine.config.isHandler(c), at.contexts[c].cpu == nil { continue }
      never.append(cpuName(p, c))
      if cycle.contains(where: { programOf($0) == c }) {
        let lines = Set(cycle.filter { programOf($0) == c }.compactMap { $0.location?.start.line })
        let loop = p.loops.first { $0.cpu == c && $0.pcs.contains(pc) }
        let text = lines.sorted().map(String.init).joined(separator: ", ")
        let what = loop.map { "its loop at line \($0.source.start.line)" } ?? "the same steps"
        doing.append("\(cpuName(p, c)) keeps repeating \(what)"
          + (lines.isEmpty ? "" : " (line\(lines.count == 1 ? "" : "s") \(text) in the cycle)"))
      } else if case .spinLock(let l) = p.instruction(cpu: c, pc: pc) {
        let holder = at.lockHolder[Int(l)].map { cpuName(p, $0) } ?? "nobody"
        doing.append("\(cpuName(p, c)) waits for \(p.spec.lockNames[Int(l)]) held by \(holder)")
      } else {
        doing.append("\(cpuName(p, c)) cannot move")
      }
    }
    let who = never.count == 1 ? "\(never[0]) never finishes" : "\(never.joined(separator: " and ")) never finish"
    return "\(who): a fair scheduler can repeat the cycle from step \(start + 1) forever, in which "
      + doing.joined(separator: ", and ") + " (a wait that can never end)"
  }

  static func lazyNesting(_ step: TraceStep, _ p: Program) -> String {
    let c = step.action.cpu
    let name = cpuName(p, c)
    let a = step.before.contexts[c]
    switch p.instruction(cpu: c, pc: a.pc) {
    case .enterLazy, .lazyMMUEnable, .lazyMMUResume:
      return "\(name) entered lazy mode\(line(step.location)) while already in it: the flag-based arch_enter_lazy_mmu_mode() does not nest (only the outermost lazy_mmu_mode_enable() may call it)"
    case .leaveLazy: return "\(name) left lazy mode\(line(step.location)) without having entered it"
    case .lazyMMUDisable where a.enableCount == 0: return "\(name) called lazy_mmu_mode_disable()\(line(step.location)) with enable_count already 0: the counter underflows"
    case .lazyMMUResume: return "\(name) called lazy_mmu_mode_resume()\(line(step.location)) with pause_count already 0: the counter underflows"
    case .lazyMMUDisable: return "after \(name)'s lazy_mmu_mode_disable()\(line(step.location)) its earlier page-table writes have not all taken effect"
    default: return "\(name) broke the lazy-mode nesting rules"
    }
  }

  static func ptLeak(_ step: TraceStep, _ trace: Trace, _ p: Program) -> String {
    let names = p.spec.ptPageNames
    if step.action.kind == .cpuStep, case .ptFree(let g) = p.instruction(cpu: step.action.cpu, pc: step.before.contexts[step.action.cpu].pc),
      step.before.ptPages[Int(g)] != 1
    {
      let state = step.before.ptPages[Int(g)]
      return "\(cpuName(p, step.action.cpu)) freed page-table page \(names[Int(g)])\(line(step.location)) \(state == 2 ? "a second time: a double free" : "although it was never allocated")"
    }
    if step.action.kind == .cpuStep, case .ptAlloc(_, let g) = p.instruction(cpu: step.action.cpu, pc: step.before.contexts[step.action.cpu].pc),
      step.before.ptPages[Int(g)] == 1
    {
      return "\(cpuName(p, step.action.cpu)) allocated page-table page \(names[Int(g)])\(line(step.location)) while it was still allocated: the earlier allocation is lost, a leak"
    }
    let leaked = names.indices.filter { step.after.ptPages[$0] == 1 }.map { names[$0] }
    return "every program has finished, but page-table page\(leaked.count == 1 ? "" : "s") \(leaked.joined(separator: ", ")) \(leaked.count == 1 ? "is" : "are") still allocated and no longer reachable: a leak (free_pgtables() only frees pmds that cover mappings; pgd_free() must mop up the rest)"
  }

  static func staleTLB(_ step: TraceStep, _ trace: Trace, _ p: Program) -> String {
    let names = p.spec.pteNames
    guard let x = readPTE(p, step) else { return "a CPU used a stale TLB entry" }
    if !p.machine.config.pgdOf.isEmpty, let g = p.machine.config.pgdOf[x], let hw = hardwareCPU(p, step),
      step.before.pgdCache[hw][g] != step.before.pgd[g]
    {
      let gname = p.spec.pgdNames[g]
      let update = trace.steps.last { s in s.before.pgd[g] != s.after.pgd[g] }
      return "\(p.spec.cpuNames[hw]) walked pte \(names[x]) through its cached top-level entry \(gname) (\(step.before.pgdCache[hw][g])), but \(update.map { cpuName(p, $0.action.cpu) } ?? "software") had changed \(gname) to \(step.before.pgd[g])\(line(update?.location)) without a cr3 reload on this CPU: PAE CPUs cache the PDPTEs at cr3 load, so the update is not seen (reload cr3 on every CPU running the mm, or preallocate the pmds at pgd_alloc)"
    }
    guard let hw = hardwareCPU(p, step) else { return "a CPU used a stale TLB entry" }
    let cached = step.before.cpus[hw].tlb[x]
    let index = trace.steps.count - 1
    let change = trace.steps[..<index].last { $0.action.kind == .cpuStep && writtenPTE(p, $0) == x }
    let user = step.action.kind == .cpuStep ? actor(p, step) : p.spec.cpuNames[hw]
    var why = "\(user) still used its TLB entry for pte \(names[x]) (\(cached))"
    if let change {
      why += " after \(cpuName(p, change.action.cpu)) changed the PTE to \(change.after.logical[x])\(line(change.location))"
      if let l = p.spec.ptlOf[x], let unlock = trace.steps[..<index].last(where: { s in
        s.action.kind == .cpuStep && s.before.lockHolder[l] == change.action.cpu && s.after.lockHolder[l] == nil
      }) {
        why += " and released \(p.spec.lockNames[l])\(line(unlock.location)) before the TLB flush completed"
      }
      // A shootdown started before the change and waited for after it covers nothing.
      let k = change.action.cpu
      if let started = trace.steps[..<index].last(where: { s in
        programOf(s) == k && isInstruction(p, s) { if case .flushTLBStart(let f) = $0 { return Int(f) == x } else { return false } }
      }), let waited = trace.steps[..<index].last(where: { s in
        programOf(s) == k && isInstruction(p, s) { if case .flushTLBWait(let f) = $0 { return Int(f) == x } else { return false } }
      }), let si = trace.steps.firstIndex(where: { $0.location == started.location && programOf($0) == k }),
        let ci = trace.steps.firstIndex(where: { $0.location == change.location && programOf($0) == k }), si < ci
      {
        return why + ": \(cpuName(p, k)) waited for its shootdown\(line(waited.location)), but it had "
          + "started it\(line(started.location)) before changing the PTE, and "
          + "\(p.spec.cpuNames[hw]) cached the old translation again after taking its IPI, so the "
          + "wait guarantees nothing for it (start the shootdown after the PTE changes)"
      }
    }
    return why + ": the next holder of the lock may already have freed or reused the page (flush the TLB before dropping the lock, as eb66ae030829 does for mremap)"
  }

  static func sleepInAtomic(_ step: TraceStep, _ p: Program) -> String {
    let c = step.action.cpu
    let a = step.before.contexts[c]
    var why: [String] = []
    if p.machine.config.isHandler(c) { why.append("it is an interrupt handler") }
    if let cpu = a.cpu, step.before.cpus[cpu].irqsOff { why.append("interrupts are off on \(p.spec.cpuNames[cpu])") }
    if a.preemptCount > 0 { why.append("preempt_count is \(a.preemptCount)") }
    let held = p.spec.lockNames.indices.filter { step.before.lockHolder[$0] == c }.map { p.spec.lockNames[$0] }
    if !held.isEmpty { why.append("it holds \(held.joined(separator: ", ")) (a spinlock disables preemption)") }
    if step.before.isLazy(context: c, perTask: p.machine.config.lazyPerTask), p.machine.config.lazyDisablesPreemption { why.append("it is inside a lazy MMU section, and this arch disables preemption there") }
    return "\(cpuName(p, c)) may sleep\(line(step.location)) in atomic context: \(why.joined(separator: "; ")) (allocate before entering the section, or with GFP_ATOMIC)"
  }

  static func lazyBalanced(_ step: TraceStep, _ p: Program) -> String {
    let c = step.action.cpu
    let name = cpuName(p, c)
    let a = step.before.contexts[c], b = step.after.contexts[c]
    let queuedCount = a.cpu.map { step.before.cpus[$0].batch.count } ?? 0
    if step.action.kind == .cpuStep {
      switch p.instruction(cpu: c, pc: a.pc) {
      case .spinUnlock(let l)
      where queuedCount > 0 || step.before.cpus.contains { $0.batch.contains { !$0.isFlush && $0.writer == c } }:
        let lazyLocks = a.cpu.map { step.before.cpus[$0].lazyLocks } ?? 0
        let enteredUnder = step.before.isLazy(context: c, perTask: p.machine.config.lazyPerTask)
          && (p.machine.config.lazyPerTask || lazyLocks & (1 << UInt64(l)) != 0)
        if !enteredUnder, let x = p.spec.ptlOf.indices.first(where: { p.spec.ptlOf[$0] == Int(l) && queued(step.before, by: c, pte: $0) }) {
          return "\(name) released \(p.spec.lockNames[Int(l)])\(line(step.location)) while its write of pte \(p.spec.pteNames[x]) was still queued in its lazy batch: the lazy section must sit inside the ptl (leave lazy mode before the unlock, whichever came first), or other CPUs can race ahead of the update"
        }
        return "\(name) released \(p.spec.lockNames[Int(l)])\(line(step.location)), which it entered lazy mode under, while its batch still held \(queuedCount) queued \(queuedCount == 1 ? "update" : "updates"): other CPUs can now race ahead of them"
      default: break
      }
      if step.after.isLazy(context: c, perTask: p.machine.config.lazyPerTask), case .end = p.instruction(cpu: c, pc: b.pc) {
        return "\(name)'s program ends in lazy mode: arch_leave_lazy_mmu_mode() is missing"
      }
    }
    return "\(name) broke the lazy-mode discipline"
  }

  static func retries(_ trace: Trace, _ p: Program) -> String {
    guard let retry = trace.steps.last(where: { $0.retried }) else { return "a cmpxchg loop retries without bound" }
    let c = retry.action.cpu
    let loop = p.loops.first { $0.cpu == c && $0.pcs.contains(retry.before.contexts[c].pc) }
    let loopText = "\(cpuName(p, c))'s cmpxchg loop\(line(loop?.source))"
    if let start = trace.cycleStart {
      var writers: [Int: [Int]] = [:]  // cpu -> lines
      var order: [Int] = []
      for s in trace.steps[start...] where s.action.kind == .cpuStep && s.action.cpu != c {
        guard p.spec.pteNames.indices.contains(where: { s.before.mem[$0] != s.after.mem[$0] }) else { continue }
        if writers[s.action.cpu] == nil { order.append(s.action.cpu) }
        if let l = s.location?.start.line, !(writers[s.action.cpu] ?? []).contains(l) { writers[s.action.cpu, default: []].append(l) }
      }
      let changes = trace.steps[start...].contains { st in
        p.spec.pteNames.indices.contains { st.before.mem[$0] != st.after.mem[$0] }
      }
      if order.isEmpty, !changes {
        return "\(loopText) can fail forever: in the repeating cycle nothing changes the PTE, "
          + "and the value the cmpxchg expects is never there, so every attempt fails the same "
          + "way (a retry must compare against the value it last saw)"
      }
      let who = order.isEmpty
        ? "another agent rewrites the PTE"
        : order.map { "\(cpuName(p, $0)) rewrites the PTE (line\(writers[$0]!.count == 1 ? "" : "s") \(writers[$0]!.sorted().map(String.init).joined(separator: ", ")))" }.joined(separator: " and ")
      return "\(loopText) can fail forever: in the repeating cycle \(who) between its read and its cmpxchg, without the lock that would exclude it, so hardware is not the only writer and the value it expects is never there when it compares"
    }
    let count = trace.steps.filter { $0.retried && $0.action.cpu == c }.count
    let bound = p.spec.retryBound ?? 0
    return "\(loopText) retried \(count) \(count == 1 ? "time" : "times"), more than the declared bound of \(bound) \(bound == 1 ? "retry" : "retries")"
  }
}

extension String {
  fileprivate func replacingPrefix(_ prefix: String, with other: String) -> String {
    hasPrefix(prefix) ? other + dropFirst(prefix.count) : self
  }
}

import PTState

/// `no_stale_read`: no stale batched state is observed. An entitled software read (under
/// the PTE's lock, or with a write of it queued by the reader), a hardware walk after a
/// flush, and a program's own TLB hit must see the PTE's logical value. Raised by
/// `PTEOps.observe`, `HardwareOps.hardwareAccess` and `HardwareOps.tlbHit`.
extension PropertyDescriptor {
  static let noStaleRead = PropertyDescriptor(
    kind: .noStaleRead, decision: .onStep, raisedBy: [.staleRead],
    help: [
      "no entitled read sees a value other than the PTE's latest"
    ],
    explain: { trace, p in
      Explanation.lastStep(.noStaleRead, trace) { Explanation.staleRead($0, trace, p) }
    })
}

extension Explanation {
  static func staleRead(_ step: TraceStep, _ trace: Trace, _ p: Program) -> String {
    let names = p.spec.pteNames
    guard
      let (x, seen, latest, rule) = step.facts.lazy.compactMap({ fact in
        if case .staleRead(let x, _, _, let seen, let latest, let rule) = fact {
          return (x, seen, latest, rule)
        }
        return nil
      }).first
    else { return "an entitled reader saw a stale PTE" }
    let s = step.before
    let writer = lastWrite(trace, pte: x, before: trace.steps.count - 1)
    let writerText =
      writer.map {
        "\(cpuName(p, $0.action.cpu)) had already written \(latest)\(line($0.location))"
      } ?? "its latest value is \(latest)"
    let reader = actor(p, step)
    switch rule {
    case .ownTLBHit:
      let k = programOf(step) ?? 0
      let hw = s.contexts[k].cpu ?? 0
      let cached = seen
      let own = writer.flatMap(programOf) == k
      return "\(reader) used its TLB entry for pte \(names[x]) (\(cached))\(line(step.location)), "
        + "but \(own ? "it had itself written \(latest)\(line(writer?.location))" : writerText) "
        + "since that entry was cached, and nothing flushed \(p.spec.cpuNames[hw])'s TLB: the "
        + "access went to the old translation (flush the local TLB when the mapping changes, as "
        + "kunmap_atomic() does with __flush_tlb_one())"
    case .touchOwnQueuedWrite:
      if p.machine.config.isHandler(step.action.cpu) {
        return
          "\(reader), an interrupt handler, used the mapping of pte "
          + "\(names[x])\(line(step.location)) right after writing \(latest) to "
          + "it\(line(writer?.location)), but that write was queued in the batch of the lazy "
          + "section it interrupted, so the access walked the old entry \(seen): the handler "
          + "was lazy by accident (interrupt context must never be lazy)"
      }
      if let here = s.contexts[step.action.cpu].cpu,
        let there = s.cpus.indices.first(where: { c in
          s.cpus[c].batch.contains { $0.pte == x && $0.writer == step.action.cpu }
        }),
        there != here
      {
        return
          "\(reader) used the mapping of pte \(names[x])\(line(step.location)) on "
          + "\(p.spec.cpuNames[here]), but its own write of \(latest) to it is still queued in "
          + "\(p.spec.cpuNames[there])'s batch, left behind when the scheduler moved \(reader) to "
          + "\(p.spec.cpuNames[here]) after the write\(line(writer?.location)); a flush on "
          + "\(p.spec.cpuNames[here]) cannot apply it, so the access walked the old entry \(seen) "
          + "(the CPU a task leaves must apply its batch at the switch: Xen's start hook "
          + "flushes it, arm64's __switch_to() issues dsb(ish))"
      }
      return
        "\(reader) used the mapping of pte \(names[x])\(line(step.location)) right after writing "
        + "\(latest) to it\(line(writer?.location)), but that write is still queued in its "
        + "lazy batch, so the access walked the old entry \(seen) (apply it first with "
        + "arch_flush_lazy_mmu_mode(), as kmap_atomic() does)"
    case .walkAfterFlush:
      let queued = queuedWriter(s, pte: x)
      let flush = trace.steps.last { step in
        if step.action.kind == .cpuStep,
          case .flushTLB(let f) = p.instruction(
            cpu: step.action.cpu, pc: step.before.contexts[step.action.cpu].pc)
        {
          return Int(f) == x
        }
        return false
      }
      let what =
        p.machine.config.mode == .shadow
        ? "the hypervisor's sync of the shadow entry is" : "the write is"
      let reason =
        queued.map {
          "; \(what) still queued in \(cpuName(p, $0))'s lazy batch, so the TLB "
            + "flush\(line(flush?.location)) came before the update it was meant to follow"
        } ?? ""
      return
        "\(hardwareActor(p, step)) walked pte \(names[x]) after a TLB flush and saw "
        + "\(seen), but \(writerText)\(reason)"
    case .ownQueuedWrite, .underLock:
      break
    }
    if let here = s.contexts[step.action.cpu].cpu,
      let there = s.cpus.indices.first(where: { c in
        s.cpus[c].batch.contains { $0.pte == x && $0.writer == step.action.cpu }
      }),
      there != here
    {
      let moved = trace.steps.last {
        $0.action.kind == .contextSwitch && $0.action.pte == step.action.cpu + 1
      }
      return
        "\(reader) read pte \(names[x])\(line(step.location)) on \(p.spec.cpuNames[here]) and saw "
        + "\(seen), but its own write of \(latest)\(line(writer?.location)) is still queued in "
        + "\(p.spec.cpuNames[there])'s batch: \(reader) was moved to "
        + "\(p.spec.cpuNames[here])\(moved == nil ? "" : " by the scheduler") inside its "
        + "lazy section, and with lazy state per CPU and no context-switch hooks its batch "
        + "stayed behind (disable preemption in the section, or flush on the way out as "
        + "Xen's hooks do)"
    }
    if rule == .ownQueuedWrite, let hook = lazyByHook(step, trace, p),
      p.spec.cpus[programOf(hook.step) ?? 0].switcherCPU == nil
    {
      return
        "\(reader) read pte \(names[x]) back\(line(step.location)) and saw \(seen), but its "
        + "write of \(latest)\(line(writer?.location)) is still queued in "
        + "\(p.spec.cpuNames[hook.cpu])'s batch: \(reader) never entered lazy mode, but "
        + "\(p.spec.cpuNames[hook.cpu]) is still lazy from \(actor(p, hook.step))'s lazy "
        + "section\(line(hook.step.location)), which the context switch did not leave (the "
        + "start hook must leave lazy mode for prev)"
    }
    if rule == .ownQueuedWrite, let hook = lazyByHook(step, trace, p) {
      return
        "\(reader) read pte \(names[x]) back\(line(step.location)) and saw \(seen), but its "
        + "write of \(latest)\(line(writer?.location)) is still queued in "
        + "\(p.spec.cpuNames[hook.cpu])'s batch: \(reader) never entered lazy mode, but "
        + "\(hook.name) entered it\(line(hook.step.location)) on \(hook.switchText) and it "
        + "stayed on for \(reader) (a hook that restores a task's lazy state must take the task "
        + "from its argument: in arch_end_context_switch, current is still prev)"
    }
    if rule == .ownQueuedWrite, let w = writer, let k = programOf(w),
      isInstruction(p, w, { if case .multicallUpdate = $0 { true } else { false } })
    {
      let cpu = w.before.contexts[k].cpu ?? 0
      var why =
        "\(reader) read pte \(names[x]) back\(line(step.location)) and saw \(seen), but its "
        + "write of \(latest)\(line(w.location)) is still an entry of "
        + "\(p.spec.cpuNames[cpu])'s multicall buffer, which nothing has issued since"
      let at = lastWriteIndex(trace, pte: x, before: trace.steps.count - 1) ?? 0
      if let cause = perCPUChange(trace, p, cpu: cpu, before: at, notBy: k) {
        why +=
          ": the backend queued it because \(actor(p, cause.step)) set \(cause.variable) to "
          + "\(cause.value)\(line(cause.step.location)), and \(reader) never changed it"
      }
      return why
    }
    if rule == .ownQueuedWrite {
      return
        "\(reader) read pte \(names[x]) back inside its lazy section and saw \(seen), but it had "
        + "written \(latest)\(line(writer?.location)), which is still queued in its own batch (a "
        + "read hazard: flush with arch_flush_lazy_mmu_mode() before reading)"
    }
    let lockName = p.spec.ptlOf[x].map { p.spec.lockNames[$0] } ?? "its lock"
    if let w = queuedWriter(s, pte: x) {
      let buffer = writer.map { step in
        isInstruction(p, step) { if case .multicallUpdate = $0 { true } else { false } }
      }
      let (queue, flush) =
        buffer == true ? ("multicall buffer", "issuing it") : ("lazy batch", "leaving lazy mode")
      var why = "it is still queued in \(cpuName(p, w))'s \(queue)"
      if let l = p.spec.ptlOf[x], let u = earlyUnlock(trace, p, program: w, lock: l) {
        why +=
          " because \(cpuName(p, w)) released \(p.spec.lockNames[l])\(line(u.location)) before "
          + flush
      }
      return
        "\(reader) read pte \(names[x]) under \(lockName) and saw \(seen), but \(writerText); "
        + "\(why)"
    }
    return "\(reader) read pte \(names[x]) under \(lockName) and saw \(seen), but \(writerText)"
  }
}

extension Explanation {
  /// The last change another program made to CPU `cpu`'s copy of a `percpu` variable before
  /// step `before` (a backend's lazy mode set by a hook, say): the step, the copy's name and
  /// the value it got.
  static func perCPUChange(
    _ trace: Trace, _ p: Program, cpu: Int, before end: Int, notBy k: Int
  ) -> (step: TraceStep, variable: String, value: String)? {
    for step in trace.steps[..<end].reversed() where programOf(step) != k {
      for (v, variable) in p.spec.variables.enumerated() where variable.scope == .percpu {
        guard v < step.before.variables.count, v < step.after.variables.count else { continue }
        for e in 0..<variable.elements {
          let i = cpu * variable.elements + e
          let (a, b) = (step.before.variables[v][i], step.after.variables[v][i])
          if a != b {
            return (
              step, KernelStateText.copyName(p.spec, v, field: i),
              KernelStateText.value(p.spec, v, b)
            )
          }
        }
      }
    }
    return nil
  }

  /// In a spec with context-switch hooks, when the reader never entered lazy mode itself:
  /// the step of another program (a hook's, or a task's left on by the switch) that made
  /// the reader's CPU lazy, the hook's name, the CPU and the switch.
  static func lazyByHook(_ step: TraceStep, _ trace: Trace, _ p: Program) -> (
    step: TraceStep, name: String, cpu: Int, switchText: String
  )? {
    guard let k = programOf(step), let c = step.before.contexts[k].cpu,
      !p.machine.config.lazyPerTask
    else { return nil }
    let entered = trace.steps.last { !$0.before.cpus[c].lazy && $0.after.cpus[c].lazy }
    guard p.machine.hasSwitchers, let entered, let h = programOf(entered), h != k else {
      return nil
    }
    let own = trace.steps.contains { s in
      programOf(s) == k
        && isInstruction(p, s) { $0 == .enterLazy || $0 == .lazyMMUEnable || $0 == .lazyMMUResume }
    }
    guard !own else { return nil }
    let name = p.callChain(cpu: h, pc: entered.before.contexts[h].pc).last?.name ?? "a hook"
    let cpu = entered.before.cpus[c]
    let prev = cpu.current.map { p.spec.cpus[$0].name } ?? "idle"
    let next = cpu.switchNext.map { p.spec.cpus[$0].name } ?? "idle"
    return (entered, name, c, "the switch \(prev) -> \(next) on \(p.spec.cpuNames[c])")
  }
}

import PTState

/// The interpreter: the only `switch` over instructions. One call runs one action: a CPU
/// executes its visible instruction, then every local instruction up to the next visible
/// one (no other CPU can observe registers, so this is sound and keeps interleavings few).
extension Program: TransitionSystem {
  public var wordCount: Int { machine.layout.wordCount }
  public var actionCount: Int { actions.count }
  public var processCount: Int { spec.cpus.count }

  /// The processes are the programs (contexts). A program's steps are its moves; so are
  /// being scheduled onto a CPU (a task) and firing (a handler), and a CPU with a pinned
  /// program handling its shootdown IPI: weak fairness applies to each (an IPI and a
  /// runnable task are served eventually). Hardware, TLB eviction, early batch flushes and
  /// switching a CPU to idle are the environment.
  /// A CPU handling its shootdown IPI is progress even where no program is pinned to it (a
  /// `flush_tlb_wait` depends on it).
  public func isProgress(_ action: Int) -> Bool {
    process(of: action) >= 0 || actions[action].kind == .shootdownIPI
  }

  public func process(of action: Int) -> Int {
    let a = actions[action]
    switch a.kind {
    case .cpuStep, .interrupt: return a.cpu
    case .contextSwitch: return a.pte - 1
    case .shootdownIPI: return machine.config.pinnedCPU.firstIndex { $0 == a.cpu } ?? -1
    case .hardwareAccess, .tlbEvict, .earlyFlush: return -1
    }
  }

  /// Most transitions are hardware accesses that find their bits set already: said from
  /// the state, without a copy or a step (not with `mm`, where an access may be disabled,
  /// nor with invariants, which every step re-checks).
  @inline(__always)
  public func changesNothing(_ index: Int, in s: PackedStateView) -> Bool {
    let a = actions[index]
    guard a.kind == .hardwareAccess, !machine.tracksMM, !hasInvariants else { return false }
    return machine.hardwareAccessChangesNothing(
      s, cpu: a.cpu, pte: a.pte, kind: AccessKind(rawValue: a.arg) ?? .read)
  }

  public func writeInitialState(_ s: PackedState) -> StepOutcome {
    machine.writeInitialState(s)
    var outcome = StepOutcome(enabled: true)
    for k in 0..<spec.cpus.count {
      var pc = 0
      if !runLocal(s, cpu: k, pc: &pc) { outcome.fault = RuntimeFault.localLoop.rawValue }
      s[machine.layout.pc[k]] = UInt64(pc)
    }
    if hasInvariants { outcome.violations |= invariantViolations(s, log: nil) }
    return outcome
  }

  /// Violations of the final state, where every CPU has finished: leaked page-table pages.
  public func finalViolations(_ s: PackedStateView) -> UInt32 {
    return machine.hasLeakedPTPages(s) ? PropertyKind.noPTLeak.bit & propertyMask : 0
  }

  public func invariantViolation(_ s: PackedStateView) -> String? {
    machine.invariantViolation(s)
  }

  /// Every program has finished: CPU programs and tasks at their end, and no handler in the
  /// middle of running (a handler that never fired is not owed).
  public func isFinished(_ s: PackedStateView) -> Bool {
    for k in 0..<spec.cpus.count {
      switch instruction(cpu: k, pc: Int(s[machine.layout.pc[k]])) {
      case .end, .switchIdle, .crossCallIdle: continue  // not owed between switches or calls
      default: break
      }
      if machine.config.isHandler(k), machine.cpuOf(s, context: k) == nil { continue }
      return false
    }
    return true
  }

  /// Whether program `k` has run to its end.
  @inline(__always)
  func isFinished(_ s: some PackedStateReading, context k: Int) -> Bool {
    if case .end = instruction(cpu: k, pc: Int(s[machine.layout.pc[k]])) { return true }
    return false
  }

  /// Whether the program that owns retry loop `loop` is inside it in this state.
  public func isInLoop(_ s: PackedStateView, loop: Int) -> Bool {
    let info = loops[loop]
    return info.pcs.contains(Int(s[machine.layout.pc[info.cpu]]))
  }

  /// The checked properties an operation's events violate (`PropertyTable.eventMap`).
  @inline(__always)
  func violations(_ events: Events) -> UInt32 {
    var e = events.rawValue & violatingEvents
    if e == 0 { return 0 }
    var v: UInt32 = 0
    while e != 0 {
      v |= eventMap[e.trailingZeroBitCount]
      e &= e - 1
    }
    return v
  }

  @inline(__always)
  public func apply(_ index: Int, to s: PackedState) -> StepOutcome {
    apply(index, to: s, log: nil)
  }

  /// `apply`, recording what the machine saw into `log` (a trace's replay); exploration
  /// passes nil as a constant, so the inner loop is unchanged. A spec with invariants has
  /// them checked on the state every step leads to.
  @inline(__always)
  func apply(
    _ index: Int, to s: PackedState, log: FactRecorder?
  ) -> StepOutcome {
    var outcome = applyAction(index, to: s, log: log)
    if hasInvariants, outcome.enabled { outcome.violations |= invariantViolations(s, log: log) }
    return outcome
  }

  /// The invariants' violations in state `s`: each invariant that is false raises
  /// `invariantBroken`.
  @inline(never)
  func invariantViolations(_ s: some PackedStateReading, log: FactRecorder?) -> UInt32 {
    var events = Events(log: log)
    for (i, inv) in invariants.enumerated() {
      let start = Int(inv.code.start)
      let code = expressionCode[start..<(start + Int(inv.code.count))]
      let value = ExpressionEvaluator.evaluate(
        code, registers: { _ in 0 },
        state: { read in UInt8(truncatingIfNeeded: s[inv.fields[Int(read)]]) })
      if value == 0 { events.raise(.invariantBroken) { .invariantBroken(index: i) } }
    }
    return violations(events)
  }

  /// One access to a declared variable: which copy (`current` for a handler is the task
  /// it interrupted), which element, then the read, write, add or exchange. A copy,
  /// element or value out of range is a runtime fault.
  @inline(never)
  func variableStep(
    _ s: PackedState, _ actor: Actor, access a: Int, dst: Register, _ events: inout Events
  ) {
    let access = variableAccesses[a]
    let k = actor.program.rawValue
    let copy: Int?
    switch access.copy {
    case .global: copy = 0
    case .thisCPU: copy = actor.cpu.rawValue
    case .current: copy = machine.currentTask(s, actor)
    case .switchPrev: copy = machine.switchTask(s, actor, next: false)
    case .switchNext: copy = machine.switchTask(s, actor, next: true)
    case .cpu(let e):
      let c = Int(evaluate(e, s, cpu: k))
      copy = c < machine.config.cpuCount ? c : nil
    }
    let element = access.index.map { Int(evaluate($0, s, cpu: k)) } ?? 0
    guard let copy,
      let field = machine.variableField(access.variable, copy: copy, element: element)
    else {
      events.insert(.variableFault)
      return
    }
    let old = Int(s[field])
    switch access.kind {
    case .read:
      store(s, cpu: k, dst, UInt8(truncatingIfNeeded: old))
    case .write(let e):
      machine.writeVariable(s, access.variable, field, Int(evaluate(e, s, cpu: k)), &events)
    case .add(let n):
      machine.writeVariable(s, access.variable, field, old + n, &events)
    case .exchange(let e):
      let new = Int(evaluate(e, s, cpu: k))
      store(s, cpu: k, dst, UInt8(truncatingIfNeeded: old))
      machine.writeVariable(s, access.variable, field, new, &events)
    }
  }

  @inline(__always)
  func applyAction(
    _ index: Int, to s: PackedState, log: FactRecorder?
  ) -> StepOutcome {
    let action = actions[index]
    var events = Events(log: log)
    switch action.kind {
    case .cpuStep:
      if hasAtomic { return atomicStep(s, cpu: action.cpu, branch: Int(action.arg), log: log) }
      return step(s, cpu: action.cpu, branch: Int(action.arg), log: log)
    case .hardwareAccess:
      if machine.tracksMM, !machine.runsMM(s, cpu: action.cpu) { return .disabled }
      _ = machine.hardwareAccess(
        s, cpu: CPUIndex(action.cpu), program: nil, pte: action.pte,
        kind: AccessKind(rawValue: action.arg) ?? .read, &events)
    case .tlbEvict:
      guard machine.evictTLB(s, cpu: CPUIndex(action.cpu), pte: action.pte) else {
        return .disabled
      }
    case .earlyFlush:
      guard machine.batchCount(s, cpu: action.cpu) > 0 else { return .disabled }
      machine.flushBatch(s, cpu: action.cpu, &events)
    case .shootdownIPI:
      guard machine.handleShootdownIPI(s, cpu: CPUIndex(action.cpu), pte: action.pte) else {
        return .disabled
      }
    case .contextSwitch:
      return contextSwitch(s, cpu: action.cpu, to: action.pte - 1, log: log)  // pte - 1: the task
    case .interrupt:
      return interrupt(s, handler: action.cpu)
    }
    return StepOutcome(enabled: true, violations: violations(events))
  }

  /// The scheduler switches CPU `c` to task `next` (-1: idle). Kept out of `apply`, which
  /// runs for every action of every state, so that stays small.
  @inline(never)
  func contextSwitch(
    _ s: PackedState, cpu c: Int, to next: Int, log: FactRecorder?
  ) -> StepOutcome {
    var events = Events(log: log)
    let current = machine.currentTask(s, cpu: c)
    let currentFinished = current.map { isFinished(s, context: $0) } ?? false
    let nextFinished = next >= 0 && isFinished(s, context: next)
    let switcher = switcherOf[c]
    if switcher >= 0 {
      return beginSwitch(
        s, cpu: c, to: next, switcher: switcher, currentFinished: currentFinished,
        nextFinished: nextFinished, &events)
    }
    let switched = machine.contextSwitch(
      s, cpu: c, to: next, currentFinished: currentFinished, nextFinished: nextFinished, &events)
    guard switched else { return .disabled }
    return StepOutcome(enabled: true, violations: violations(events))
  }

  /// A switch with the spec's hooks starts: the switcher context of `c` leaves its idle pc
  /// and runs local code up to the hooks' first visible step (or the switch's end).
  private func beginSwitch(
    _ s: PackedState, cpu c: Int, to next: Int, switcher: Int, currentFinished: Bool,
    nextFinished: Bool, _ events: inout Events
  ) -> StepOutcome {
    let pcField = machine.layout.pc[switcher]
    guard s[pcField] == 0,
      machine.beginSwitch(
        s, cpu: c, to: next, currentFinished: currentFinished, nextFinished: nextFinished,
        &events)
    else { return .disabled }
    var outcome = StepOutcome(enabled: true)
    var pc = 1
    if !runLocal(s, cpu: switcher, pc: &pc) { outcome.fault = RuntimeFault.localLoop.rawValue }
    s[pcField] = UInt64(pc)
    outcome.violations = violations(events)
    return outcome
  }

  /// Handler `h` fires on its CPU.
  @inline(never)
  func interrupt(_ s: PackedState, handler h: Int) -> StepOutcome {
    if machine.config.isCrossCall(h) { return crossCallInterrupt(s, handler: h) }
    guard let c = machine.config.handlerCPU[h], machine.enterInterrupt(s, cpu: c, handler: h) else {
      return .disabled
    }
    if isFinished(s, context: h) { machine.exitInterrupt(s, cpu: c) }  // an empty handler
    return StepOutcome(enabled: true)
  }

  /// A CPU takes the IPI of a pending cross-call: its handler context leaves its idle pc and
  /// runs local code up to the function's first visible step (or the csd unlock).
  private func crossCallInterrupt(_ s: PackedState, handler h: Int) -> StepOutcome {
    let pcField = machine.layout.pc[h]
    guard let c = machine.config.handlerCPU[h], s[pcField] == 0,
      machine.enterCrossCall(s, cpu: c, handler: h)
    else { return .disabled }
    var outcome = StepOutcome(enabled: true)
    var pc = 1
    if !runLocal(s, cpu: h, pc: &pc) { outcome.fault = RuntimeFault.localLoop.rawValue }
    s[pcField] = UInt64(pc)
    return outcome
  }

  /// The handler contexts `smp_call_function_many(mask, function, ...)` on CPU `hw` targets:
  /// every CPU of the mask but `hw` (bits past the last CPU are offline CPUs).
  @inline(__always)
  func crossCallTargets(_ mask: UInt8, function f: Int, caller hw: Int) -> [Int] {
    let row = crossCallHandlers[f]
    return row.indices.compactMap { t in
      t != hw && mask & (1 << t) != 0 && row[t] >= 0 ? row[t] : nil
    }
  }

  /// `smp_call_function_many` queues its function on its targets: blocked while one of them
  /// still has a call of it pending (the caller spins in csd_lock). Called with interrupts
  /// off or from an interrupt handler, the kernel warns (and the caller may deadlock).
  private func crossCall(
    _ s: PackedState, _ actor: Actor, mask: ExprRef, function f: Int, _ events: inout Events
  ) -> Bool {
    let (k, hw) = (actor.program.rawValue, actor.cpu.rawValue)
    let targets = crossCallTargets(evaluate(mask, s, cpu: k), function: f, caller: hw)
    for h in targets where machine.isCrossCallPending(s, handler: h) { return false }
    if machine.config.isHandler(k) || s[machine.layout.irqsOff[hw]] != 0 {
      events.raise(.warn) { .checkFailed(program: k, cpu: hw) }
    }
    for h in targets { machine.queueCrossCall(s, handler: h) }
    return true
  }

  @inline(__always)
  func evaluate(_ ref: ExprRef, _ s: PackedState, cpu: Int) -> UInt8 {
    let m = machine
    let base = m.layout.registerBase[cpu]
    let start = Int(ref.start)
    // Most operands are one constant or one register: read them without building a slice
    // of the code (which retains the code's buffer, measurable in the inner loop).
    if ref.count == 1 {
      switch expressionCode[start] {
      case .constant(let v): return v
      case .register(let r):
        return UInt8(truncatingIfNeeded: s[m.layout.registers[base + Int(r)]])
      default: break
      }
    }
    return expressionCode.withUnsafeBufferPointer { code in
      let ops = UnsafeBufferPointer(rebasing: code[start..<(start + Int(ref.count))])
      return ExpressionEvaluator.evaluate(ops) {
        UInt8(truncatingIfNeeded: s[m.layout.registers[base + Int($0)]])
      }
    }
  }

  @inline(__always)
  func store(_ s: PackedState, cpu: Int, _ r: Register, _ value: UInt8) {
    guard r != Register.discard else { return }
    s[machine.layout.registers[machine.layout.registerBase[cpu] + Int(r)]] = UInt64(value)
  }

  /// One program step of context `k` (a CPU's program, a task or a handler) on the CPU it
  /// runs on: the visible instruction at its pc (branch `branch` of an `either` or a
  /// `pt_alloc`), then local code up to the next visible instruction.
  func step(
    _ s: PackedState, cpu k: Int, branch: Int, log: FactRecorder? = nil
  ) -> StepOutcome {
    guard machine.isRunning(s, context: k), let hw = machine.cpuOf(s, context: k) else {
      return .disabled
    }
    let actor = Actor(program: ProgramIndex(k), cpu: CPUIndex(hw))
    let pcField = machine.layout.pc[k]
    var pc = Int(s[pcField])
    let startPC = pc
    let instr = instruction(cpu: k, pc: pc)
    if branch > 0 {
      switch instr {
      case .choose(_, let n) where branch < Int(n): break
      case .ptAlloc where branch < AllocatorOutcome.allCases.count: break
      default: return .disabled
      }
    }
    var events = Events(log: log)
    var retryLoop: UInt16 = 0
    pc += 1
    switch instr {
    case .spinLock(let l):
      guard machine.spinLock(s, actor, lock: Int(l)) else { return .disabled }
    case .spinUnlock(let l):
      machine.spinUnlock(s, actor, lock: Int(l), &events)
    case .enterLazy:
      machine.enterLazy(s, actor, &events)
    case .leaveLazy:
      machine.leaveLazy(s, actor, &events)
    case .flushLazy:
      machine.flushLazy(s, actor, &events)
    case .setPTE(let p, let v):
      machine.setPTE(
        s, actor, pte: Int(p), value: PTE(rawValue: evaluate(v, s, cpu: k)), &events)
    case .ptepGet(let dst, let p):
      store(s, cpu: k, dst, machine.ptepGet(s, actor, pte: Int(p), &events).rawValue)
    case .getAndClear(let dst, let p):
      store(
        s, cpu: k, dst, machine.ptepGetAndClear(s, actor, pte: Int(p), &events).rawValue)
    case .xchg(let dst, let p, let v):
      let value = PTE(rawValue: evaluate(v, s, cpu: k))
      store(
        s, cpu: k, dst,
        machine.xchg(s, actor, pte: Int(p), value: value, &events).rawValue)
    case .cmpxchg(let dst, let p, let e, let n, let loop):
      let expected = PTE(rawValue: evaluate(e, s, cpu: k))
      let new = PTE(rawValue: evaluate(n, s, cpu: k))
      let seen = machine.cmpxchg(
        s, actor, pte: Int(p), expected: expected, new: new, &events)
      store(s, cpu: k, dst, seen.rawValue)
      if events.contains(.cmpxchgFailed) { retryLoop = loop }
    case .modifyProtStart(let dst, let p):
      store(
        s, cpu: k, dst, machine.modifyProtStart(s, actor, pte: Int(p), &events).rawValue)
    case .modifyProtCommit(let p, let v):
      machine.modifyProtCommit(
        s, actor, pte: Int(p), value: PTE(rawValue: evaluate(v, s, cpu: k)), &events)
    case .flushTLB(let p):
      machine.flushTLB(s, actor, pte: Int(p), &events)
    case .setPGD(let g, let v):
      machine.setPGD(s, pgd: Int(g), value: PTE(rawValue: evaluate(v, s, cpu: k)))
    case .pgdGet(let dst, let g):
      store(s, cpu: k, dst, machine.pgdGet(s, pgd: Int(g)).rawValue)
    case .loadCR3:
      machine.loadCR3(s, cpu: hw)
    case .flushTLBMM:
      machine.flushTLBMM(s, &events)
    case .ptAlloc(let dst, let g):
      let outcome = AllocatorOutcome(rawValue: branch) ?? .succeeds
      let ok = machine.ptAlloc(s, page: Int(g), outcome: outcome, by: k, &events)
      store(s, cpu: k, dst, ok ? 1 : 0)
    case .ptFree(let g):
      machine.ptFree(s, page: Int(g), by: k, &events)
    case .flushTLBStart(let p):
      machine.flushTLBStart(s, actor, pte: Int(p))
    case .flushTLBWait(let p):
      guard machine.flushTLBWait(s, actor, pte: Int(p)) else { return .disabled }
    case .touch(let dst, let p, let kind):
      let ok = machine.hardwareAccess(
        s, cpu: actor.cpu, program: actor.program, pte: Int(p), kind: kind, &events)
      store(s, cpu: k, dst, ok ? 1 : 0)
    case .fullTeardownRead(let dst, let p):
      store(
        s, cpu: k, dst, machine.fullTeardownRead(s, actor, pte: Int(p), &events).rawValue
      )
    case .nativeClear(let p):
      machine.nativeClear(s, actor, pte: Int(p), &events)
    case .lazyMMUEnable: machine.lazyMMUEnable(s, actor, &events)
    case .lazyMMUDisable: machine.lazyMMUDisable(s, actor, &events)
    case .lazyMMUPause: machine.lazyMMUPause(s, actor, &events)
    case .lazyMMUResume: machine.lazyMMUResume(s, actor, &events)
    case .preemptDisable: machine.preemptDisable(s, actor, &events)
    case .preemptEnable: machine.preemptEnable(s, actor, &events)
    case .mightSleep: machine.mightSleep(s, actor, &events)
    case .irqDisable: machine.setIRQsOff(s, cpu: hw, true)
    case .irqEnable: machine.setIRQsOff(s, cpu: hw, false)
    case .mmget:
      machine.mmget(s, cpu: hw)
    case .mmput(let dst):
      store(s, cpu: k, dst, machine.mmput(s, cpu: hw) ? 1 : 0)
    case .choose(let first, _):
      pc = Int(choiceTargets[Int(first) + branch])
    case .cover:
      break
    case .variable(let dst, let a):
      variableStep(s, actor, access: Int(a), dst: dst, &events)
    case .processorID(let dst):
      store(s, cpu: k, dst, UInt8(truncatingIfNeeded: hw))
    case .irqsDisabled(let dst):
      store(s, cpu: k, dst, machine.irqsDisabled(s, actor) ? 1 : 0)
    case .multicallUpdate(let p, let v, let entry, let draining):
      let value = PTE(rawValue: evaluate(v, s, cpu: k))
      let outcome = machine.multicallUpdate(
        s, actor, pte: Int(p), value: value, entry: entry, draining: draining, &events)
      switch (outcome, draining) {
      case (.queued, false): pc += 1  // skips the draining instruction
      case (.issuing, true): pc = startPC  // still in the hypercall
      default: break
      }
    case .multicallIssue:
      if !machine.issueMulticallEntry(s, cpu: hw, &events) { pc = startPC }
    case .hypercallUpdate(let p, let v):
      let value = PTE(rawValue: evaluate(v, s, cpu: k))
      machine.hypercallUpdate(s, actor, pte: Int(p), value: value, &events)
    case .check(let id):
      let event: Events
      switch checks[Int(id)].kind {
      case .bug: event = .bug
      case .warn: event = .warn
      case .assertion: event = .assertFailed
      }
      events.raise(event) { .checkFailed(program: k, cpu: hw) }
    case .end, .switchIdle, .crossCallIdle:
      return .disabled
    case .switchDone:
      machine.endSwitch(s, cpu: hw)
      pc = 0
    case .crossCall(let mask, let f):
      guard crossCall(s, actor, mask: mask, function: Int(f), &events) else { return .disabled }
    case .crossCallWait(let mask, let f):
      let targets = crossCallTargets(evaluate(mask, s, cpu: k), function: Int(f), caller: hw)
      for h in targets where machine.isCrossCallPending(s, handler: h) { return .disabled }
    case .crossCallDone:
      machine.endCrossCall(s, cpu: hw, handler: k)
      pc = 0
    case .localFlushTLB(let p):
      machine.localFlushTLB(s, actor, pte: Int(p))
    case .localFlushTLBPages(let m):
      machine.localFlushTLBPages(s, actor, mask: evaluate(m, s, cpu: k))
    case .flushTLBPages(let m):
      machine.flushTLBPages(s, mask: evaluate(m, s, cpu: k))
    case .assign, .jump, .jumpIfZero, .skipUnlessCallerIn:
      break  // never reached: a CPU never rests on a local instruction
    }
    var outcome = StepOutcome(enabled: true, retryLoop: retryLoop)
    // The program counters this step passes through: the retry analysis must know whether
    // it left a loop (a `break`) even when it lands back inside it.
    var low = min(startPC, pc)
    var high = max(startPC, pc)
    if events.contains(.unlockNotHeld) { outcome.fault = RuntimeFault.unlockNotHeld.rawValue }
    if events.contains(.batchOverflow) { outcome.fault = RuntimeFault.batchOverflow.rawValue }
    if events.contains(.preemptUnderflow) { outcome.fault = RuntimeFault.preemptUnderflow.rawValue }
    if events.contains(.counterOverflow) { outcome.fault = RuntimeFault.counterOverflow.rawValue }
    if events.contains(.variableFault) { outcome.fault = RuntimeFault.variableFault.rawValue }
    if !runLocal(s, cpu: k, pc: &pc, low: &low, high: &high) {
      outcome.fault = RuntimeFault.localLoop.rawValue
    }
    outcome.pcLow = Int32(low)
    outcome.pcHigh = Int32(high)
    s[pcField] = UInt64(pc)
    if case .end = instruction(cpu: k, pc: pc) { machine.endProgram(s, actor, &events) }
    outcome.violations = violations(events)
    return outcome
  }

  /// A step of a spec with `atomic` blocks: a step that starts inside a block goes on, one
  /// instruction after another, until the program counter leaves the block, with nothing
  /// else interleaved. It is enabled when its first instruction is; an instruction after it
  /// that is blocked is a runtime fault (the program is left at it, for the report). The
  /// events of every instruction count; a fault stops the block. Kept out of `step`, so a
  /// spec without blocks pays one test of `hasAtomic` per step.
  @inline(never)
  func atomicStep(
    _ s: PackedState, cpu k: Int, branch: Int, log: FactRecorder?
  ) -> StepOutcome {
    let pcField = machine.layout.pc[k]
    guard let block = atomicBlock(cpu: k, pc: Int(s[pcField])) else {
      return step(s, cpu: k, branch: branch, log: log)
    }
    var outcome = step(s, cpu: k, branch: branch, log: log)
    guard outcome.enabled else { return outcome }
    var steps = 0
    var last = outcome
    // The block ends where control leaves it, even if it comes back (a loop around it).
    while outcome.fault == 0, block.pcs.contains(Int(last.pcLow)),
      block.pcs.contains(Int(last.pcHigh))
    {
      let pc = Int(s[pcField])
      Events(log: log).note { .atomicStep(pc: pc) }
      let next = step(s, cpu: k, branch: 0, log: log)
      guard next.enabled else {
        outcome.fault = RuntimeFault.blockedInAtomic.rawValue
        break
      }
      last = next
      outcome.violations |= next.violations
      outcome.fault = next.fault
      if next.retryLoop != 0 { outcome.retryLoop = next.retryLoop }
      outcome.pcLow = min(outcome.pcLow, next.pcLow)
      outcome.pcHigh = max(outcome.pcHigh, next.pcHigh)
      steps += 1
      if steps > Program.maxLocalSteps { outcome.fault = RuntimeFault.localLoop.rawValue }
    }
    return outcome
  }

  /// Runs local instructions from `pc` until a visible one. False if it never gets there.
  func runLocal(_ s: PackedState, cpu: Int, pc: inout Int) -> Bool {
    var low = pc
    var high = pc
    return runLocal(s, cpu: cpu, pc: &pc, low: &low, high: &high)
  }

  /// The same, widening `low...high` to every program counter it passes through.
  @inline(__always)
  func runLocal(_ s: PackedState, cpu: Int, pc: inout Int, low: inout Int, high: inout Int) -> Bool
  {
    var steps = 0
    while true {
      switch instruction(cpu: cpu, pc: pc) {
      case .assign(let dst, let v):
        store(s, cpu: cpu, dst, evaluate(v, s, cpu: cpu))
        pc += 1
      case .jump(let to):
        pc = Int(to)
      case .jumpIfZero(let cond, let to):
        pc = evaluate(cond, s, cpu: cpu) == 0 ? Int(to) : pc + 1
      case .skipUnlessCallerIn(let mask, let to):
        let hw = machine.cpuOf(s, context: cpu) ?? 8
        pc = hw < 8 && evaluate(mask, s, cpu: cpu) & (1 << hw) != 0 ? pc + 1 : Int(to)
      default:
        return true
      }
      low = min(low, pc)
      high = max(high, pc)
      steps += 1
      if steps > Program.maxLocalSteps { return false }
    }
  }
}

import PTState

/// One step of a counterexample, rebuilt by replaying its actions from the initial state.
public struct TraceStep: Sendable {
  public var action: Action
  /// Its place in the program's action table (what `Program.apply` takes).
  public var actionIndex: Int
  /// Who moved: "cpu0", "cpu1/hw" (its hardware), "hyp" (the hypervisor, for cpuN's batch).
  public var actor: String
  /// The operation as written in the spec, or a description of a hardware action.
  public var operation: String
  /// `file:line:col` of the operation, if it comes from the spec.
  public var location: SourceRange?
  /// What changed, one entry per field ("ptl0: free -> cpu0", "a: none -> present").
  public var effects: [String]
  public var before: MachineSnapshot
  public var after: MachineSnapshot
  public var violations: UInt32
  public var retried: Bool
  /// What the machine saw when it raised an event in this step (recorded in the replay).
  public var facts: [Fact] = []
}

/// A replayed counterexample.
public struct Trace: Sendable {
  public var initial: MachineSnapshot
  public var steps: [TraceStep]
  /// For a lasso, the index of the first step of the repeating cycle.
  public var cycleStart: Int?

  public init(program: Program, counterexample: Counterexample) {
    let actions: [Int]
    switch counterexample {
    case .run(let a):
      actions = a
      cycleStart = nil
    case .lasso(let p, let c):
      actions = p + c
      cycleStart = p.count
    }
    (initial, steps) = withScratchStates(wordCount: program.wordCount) { scratch in
      Trace.replay(program, actions, in: scratch[0])
    }
  }

  /// Replays `actions` from the initial state in `state`, recording each step's facts.
  private static func replay(_ program: Program, _ actions: [Int], in state: PackedState)
    -> (MachineSnapshot, [TraceStep])
  {
    let m = program.machine
    _ = program.writeInitialState(state)
    let initial = m.snapshot(state)
    var steps: [TraceStep] = []
    var before = initial
    for a in actions {
      let action = program.actions[a]
      var (actor, operation, location) = Trace.describe(program, action, before)
      var log = FactLog()
      let outcome = log.recording { program.apply(a, to: state, log: $0) }
      let after = m.snapshot(state)
      var effects = Trace.effects(program, before, after)
      if let (text, note) = Trace.atomicText(program, action, before, operation, log.facts) {
        operation = text
        effects.insert(note, at: 0)
      }
      for case .batchFull(_, let entries) in log.facts {
        effects.insert("batch full: one hypercall applies \(entries) entries", at: 0)
      }
      if let note = Trace.hardwareNote(program, log.facts) { effects.insert(note, at: 0) }
      effects.insert(contentsOf: Trace.readNotes(program, action, before, after, log.facts), at: 0)
      steps.append(
        TraceStep(
          action: action, actionIndex: a, actor: actor, operation: operation, location: location,
          effects: effects,
          before: before, after: after, violations: outcome.violations,
          retried: outcome.retryLoop != 0, facts: log.facts))
      before = after
    }
    return (initial, steps)
  }

  /// What a program's read saw, when the effects would not show it: a failed cmpxchg, and a
  /// result equal to what its register already held.
  static func readNotes(
    _ program: Program, _ action: Action, _ before: MachineSnapshot, _ after: MachineSnapshot,
    _ facts: [Fact]
  ) -> [String] {
    guard case .step(let k, _) = action.meaning else { return [] }
    var notes: [String] = []
    let names = program.spec.pteNames
    for case .cmpxchgFailed(let p, let expected, let seen) in facts {
      notes.append("cmpxchg FAILED: \(names[p]) is \(seen), not the expected \(expected)")
    }
    let instruction = program.instruction(cpu: k, pc: before.contexts[k].pc)
    if let r = instruction.resultRegister.map(Int.init),
      before.contexts[k].registers[r] == after.contexts[k].registers[r]
    {
      let cpu = program.spec.cpus[k]
      let value = registerText(cpu, r, after.contexts[k].registers[r], enums: program.spec.enums)
      notes.append("\(cpu.name).\(cpu.registers[r]) = \(value) (read, unchanged)")
    }
    return notes
  }

  /// An atomic block's step: the operation is the block with every statement it ran, in
  /// order (`atomic { set_pte(a, v); set_pte(b, v) }`), and a note names the block and the
  /// lines. Nil for any other step.
  static func atomicText(
    _ program: Program, _ action: Action, _ before: MachineSnapshot, _ operation: String,
    _ facts: [Fact]
  ) -> (String, String)? {
    guard case .step(let k, _) = action.meaning,
      let block = program.atomicBlock(cpu: k, pc: before.contexts[k].pc)
    else { return nil }
    var ranges: [SourceRange] = []
    let inner = facts.compactMap { fact -> Int? in
      if case .atomicStep(let pc) = fact { return pc }
      return nil
    }
    for pc in [before.contexts[k].pc] + inner {
      // One statement may be two instructions (`mmu_update`'s drain, a cross-call's wait).
      if let r = program.source(cpu: k, pc: pc), r != ranges.last { ranges.append(r) }
    }
    let spec = program.spec
    // The call chain of the first statement, as `describe` wrote it.
    let chain = operation.range(of: "  [in ").map { String(operation[$0.lowerBound...]) } ?? ""
    let text = "atomic { " + ranges.map { spec.sourceText($0) }.joined(separator: "; ") + " }"
    let lines = ranges.map { String($0.start.line) }.joined(separator: ", ")
    let note =
      "atomic block (line \(block.source.start.line)): one step runs line"
      + (ranges.count == 1 ? " " : "s ") + lines
    return (text + chain, note)
  }

  static func isTouch(_ program: Program, _ action: Action, _ s: MachineSnapshot) -> Bool {
    guard action.kind == .cpuStep else { return false }
    if case .touch = program.instruction(cpu: action.cpu, pc: s.contexts[action.cpu].pc) {
      return true
    }
    return false
  }

  static func describe(_ program: Program, _ action: Action, _ s: MachineSnapshot) -> (
    String, String, SourceRange?
  ) {
    let spec = program.spec
    // A program's steps are named by the program; the hardware's by the physical CPU.
    switch action.meaning {
    case .step(let k, let branch):
      let pc = s.contexts[k].pc
      let range = program.source(cpu: k, pc: pc)
      var text = range.map { spec.sourceText($0) } ?? "?"
      let hookCPU = spec.cpus[k].switcherCPU
      let switchText = hookCPU.map { c in
        let prev = s.cpus[c].current.map { spec.cpus[$0].name } ?? "idle"
        let next = s.cpus[c].switchNext.map { spec.cpus[$0].name } ?? "idle"
        return "switch \(prev) -> \(next)"
      }
      switch program.instruction(cpu: k, pc: pc) {
      case .choose: text = "either: branch \(branch + 1)"
      case .ptAlloc: text += branch == 0 ? "  [succeeds]" : "  [fails]"
      case .switchDone:
        text = "\(spec.cpuNames[hookCPU ?? 0]): \(switchText ?? "switch") ends (current is next)"
      case .crossCallDone:
        let f = spec.cpus[k].crossCallFunction.map { spec.crossCallFunctions[$0] } ?? "?"
        text = "\(f) returns: the IPI ends"
      case .crossCall: text += "  [queue]"
      case .crossCallWait: text += "  [wait]"
      default: break
      }
      // Inside inlined calls: the chain, innermost first, with the outermost call's line (a
      // context-switch hook's: the switch that runs it).
      let chain = program.callChain(cpu: k, pc: pc)
      let ipi = spec.cpus[k].crossCallFunction != nil ? spec.cpus[k].handlerCPU : nil
      let ipiText = ipi.map { "smp_call_function_many IPI on \(spec.cpuNames[$0])" }
      if let outer = chain.last {
        text +=
          "  [in " + chain.map(\.name).joined(separator: " <- ")
          + " <- \(switchText ?? ipiText ?? "line \(outer.call.start.line)")]"
      }
      return (spec.cpus[k].name, text, range)
    case .contextSwitch(let c, let to):
      let next = to.map { spec.cpus[$0].name } ?? "idle"
      let prev = s.cpus[c].current.map { spec.cpus[$0].name } ?? "idle"
      let begins = program.switcherOf[c] >= 0 ? " begins (interrupts off)" : ""
      return ("sched", "\(spec.cpuNames[c]): switch \(prev) -> \(next)\(begins)", nil)
    case .interrupt(let h):
      let on = spec.cpus[h].handlerCPU.map { spec.cpuNames[$0] } ?? "?"
      if let f = spec.cpus[h].crossCallFunction {
        let name = spec.crossCallFunctions[f]
        return ("irq", "\(on) takes the cross-call IPI: runs \(name) (\(spec.cpus[h].name))", nil)
      }
      return ("irq", "interrupt \(spec.cpus[h].name) fires on \(on)", nil)
    case .hardwareAccess(let c, let p, let kind):
      let what = kind == .write ? "write" : "read"
      return ("\(spec.cpuNames[c])/hw", "hardware \(what) through \(spec.pteNames[p])", nil)
    case .tlbEvict(let c, let p):
      return ("\(spec.cpuNames[c])/hw", "TLB evicts its entry for \(spec.pteNames[p])", nil)
    case .earlyFlush(let c):
      let n = s.cpus[c].batch.count
      let entries = "\(n) \(n == 1 ? "entry" : "entries")"
      return ("hyp", "flushes \(spec.cpuNames[c])'s batch early (\(entries))", nil)
    case .shootdownIPI(let c, let p):
      return (spec.cpuNames[c], "handles the TLB shootdown IPI for \(spec.pteNames[p])", nil)
    }
  }

  /// How the hardware went through the PTE in this step, from what the machine recorded.
  static func hardwareNote(_ program: Program, _ facts: [Fact]) -> String? {
    for case .access(let p, _, let outcome) in facts {
      let name = program.spec.pteNames[p]
      let table = program.machine.config.mode == .shadow ? "shadow " : ""
      switch outcome {
      case .tlbHit(let cached): return "TLB hit (\(cached))"
      case .topLevelFault(let g, let cached):
        return "walk faults at the cached top-level entry \(program.spec.pgdNames[g]) (\(cached))"
      case .walk(let seen, let faulted):
        return "walk of \(table)\(name) sees \(seen)" + (faulted ? ": page fault" : "")
      }
    }
    return nil
  }

  /// The fields that differ between two snapshots, in kernel words.
  static func effects(_ program: Program, _ a: MachineSnapshot, _ b: MachineSnapshot) -> [String] {
    let spec = program.spec
    var out: [String] = []
    for (l, name) in spec.lockNames.enumerated() where a.lockHolder[l] != b.lockHolder[l] {
      out.append(
        "\(name): \(a.lockHolder[l].map { spec.cpus[$0].name } ?? "free") -> "
          + "\(b.lockHolder[l].map { spec.cpus[$0].name } ?? "free")"
      )
    }
    for (c, name) in spec.cpuNames.enumerated() {
      let x = a.cpus[c]
      let y = b.cpus[c]
      if x.lazy != y.lazy { out.append("\(name) lazy: \(y.lazy ? "on" : "off")") }
      if x.batch != y.batch { out.append("\(name) batch: \(batchText(program, y.batch))") }
      if x.current != y.current {
        out.append("\(name) runs \(y.current.map { spec.cpus[$0].name } ?? "nothing (idle)")")
      }
      if x.inIRQ != y.inIRQ {
        out.append(
          y.inIRQ.map { "\(name) takes interrupt \(spec.cpus[$0].name)" }
            ?? "\(name) returns from interrupt \(x.inIRQ.map { spec.cpus[$0].name } ?? "")")
      }
      if x.irqsOff != y.irqsOff { out.append("\(name) interrupts \(y.irqsOff ? "off" : "on")") }
    }
    for (k, cpu) in spec.cpus.enumerated() {
      let x = a.contexts[k]
      let y = b.contexts[k]
      if x.lazy != y.lazy { out.append("\(cpu.name) lazy: \(y.lazy ? "on" : "off")") }
      if x.tif != y.tif {
        out.append("\(cpu.name) TIF_LAZY_MMU_UPDATES: \(y.tif ? "set" : "clear")")
      }
      if x.enableCount != y.enableCount {
        out.append("\(cpu.name) enable_count: \(x.enableCount) -> \(y.enableCount)")
      }
      if x.pauseCount != y.pauseCount {
        out.append("\(cpu.name) pause_count: \(x.pauseCount) -> \(y.pauseCount)")
      }
      if x.preemptCount != y.preemptCount {
        out.append("\(cpu.name) preempt_count: \(x.preemptCount) -> \(y.preemptCount)")
      }
      if let f = cpu.crossCallFunction, x.fired != y.fired, let t = cpu.handlerCPU {
        let name = spec.crossCallFunctions[f]
        out.append(
          y.fired
            ? "\(name) queued on \(spec.cpuNames[t])"
            : "\(spec.cpuNames[t]) finished \(name) (csd unlocked)")
      }
      for (r, name) in cpu.registers.enumerated() where x.registers[r] != y.registers[r] {
        let value = registerText(cpu, r, y.registers[r], enums: spec.enums)
        out.append("\(cpu.name).\(name) = \(value)")
      }
    }
    for (p, name) in spec.pteNames.enumerated() {
      if a.mem[p] != b.mem[p] { out.append("\(name): \(a.mem[p]) -> \(b.mem[p])") }
      if let sa = a.shadow, let sb = b.shadow, sa[p] != sb[p] {
        out.append("shadow \(name): \(sa[p]) -> \(sb[p])")
      }
      // A logical change is shown when memory does not show it (a queued write), which is
      // what explains a stale read.
      if a.logical[p] != b.logical[p], b.logical[p] != b.mem[p] {
        out.append("logical \(name): \(a.logical[p]) -> \(b.logical[p])")
      }
    }
    out += KernelStateText.changes(spec, a, b)
    for (g, name) in spec.pgdNames.enumerated() where a.pgd[g] != b.pgd[g] {
      out.append("pgd \(name): \(a.pgd[g]) -> \(b.pgd[g])")
    }
    for (c, cpu) in spec.cpuNames.enumerated() {
      for (g, name) in spec.pgdNames.enumerated() where a.pgdCache[c][g] != b.pgdCache[c][g] {
        out.append("\(cpu) PDPTE \(name): \(b.pgdCache[c][g])")
      }
    }
    let pageStates = ["never allocated", "allocated", "freed"]
    for (g, name) in spec.ptPageNames.enumerated() where a.ptPages[g] != b.ptPages[g] {
      out.append("\(name): \(pageStates[b.ptPages[g]])")
    }
    for (c, cpu) in spec.cpuNames.enumerated() where a.runsMM[c] != b.runsMM[c] {
      out.append(
        "\(cpu) \(b.runsMM[c] ? "runs the mm" : "no longer runs the mm") (mm_users "
          + "\(b.runsMM.filter { $0 }.count))"
      )
    }
    for (c, cpu) in spec.cpuNames.enumerated() {
      for (p, name) in spec.pteNames.enumerated() where a.cpus[c].tlb[p] != b.cpus[c].tlb[p] {
        out.append(
          "\(cpu) TLB \(name): \(b.cpus[c].tlb[p] == .none ? "no entry" : "\(b.cpus[c].tlb[p])")")
      }
      for (p, name) in spec.pteNames.enumerated()
      where a.cpus[c].ipiPending[p] != b.cpus[c].ipiPending[p] {
        out.append(
          "\(cpu): shootdown IPI for \(name) \(b.cpus[c].ipiPending[p] ? "pending" : "handled")")
      }
    }
    return out
  }

  static func registerText(
    _ cpu: CheckedCPU, _ r: Int, _ value: UInt8, enums: [String: [String]]
  ) -> String {
    if let e = cpu.enumRegisters[r], let names = enums[e], Int(value) < names.count {
      return names[Int(value)]
    }
    if cpu.booleanRegisters.contains(r) { return value != 0 ? "true" : "false" }
    if cpu.numberRegisters.contains(r) { return "\(value)" }
    return "\(PTE(rawValue: value))"
  }

  static func batchText(_ program: Program, _ batch: [MachineSnapshot.BatchEntry]) -> String {
    if batch.isEmpty { return "[]" }
    return "["
      + batch.map {
        $0.isFlush
          ? "flush_tlb(\(program.spec.pteNames[$0.pte]))"
          : "\(program.spec.pteNames[$0.pte]) <- "
            + "\($0.value)\($0.preserveAD ? " (preserve A/D)" : "")"
      }.joined(separator: ", ") + "]"
  }
}

extension CheckedSpec {
  func sourceText(_ range: SourceRange) -> String {
    sourceFile?.text(range) ?? "line \(range.start.line)"
  }
}

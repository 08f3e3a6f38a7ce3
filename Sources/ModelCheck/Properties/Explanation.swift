import PTState

/// One sentence, in kernel terms, that says why a property failed on a trace. Each
/// property's sentence is in its file in `Builtin/`; this file holds what they share:
/// naming the actor of a step, the PTE it reads or writes, the step that wrote a value.
enum Explanation {
  /// The `why:` sentence for a counterexample of `property`: the descriptor's.
  static func why(_ property: PropertyKind, _ trace: Trace, _ program: Program) -> String {
    $file.withValue(program.spec.sourceFile) {
      PropertyTable.descriptor(property).explain(trace, program)
    }
  }

  /// The spec being explained, with the files it includes: how `line` places a range in an
  /// included file.
  @TaskLocal static var file: SourceFile?

  /// The last step's explanation, or what to say when the initial state is the violation.
  static func lastStep(
    _ property: PropertyKind, _ trace: Trace, _ explain: (TraceStep) -> String
  ) -> String {
    guard let last = trace.steps.last else {
      return "the initial state already violates \(property.name)"
    }
    return explain(last)
  }

  /// The PTE a program's step writes, if any (from the operation catalogue).
  static func writtenPTE(_ p: Program, _ step: TraceStep) -> Int? {
    guard let k = programOf(step), let use = p.operation(cpu: k, pc: step.before.contexts[k].pc)
    else { return nil }
    return use.use == .writes || use.use == .readsAndWrites ? use.pte : nil
  }

  /// The program whose step this is (nil for the hardware, the hypervisor, the scheduler,
  /// an interrupt firing or an IPI).
  static func programOf(_ step: TraceStep) -> Int? {
    if case .step(let k, _) = step.action.meaning { return k }
    return nil
  }

  /// Who acted in a step, named as the kernel would: a program, a CPU's hardware (a CPU is
  /// not its program), the hypervisor, the scheduler.
  static func actor(_ p: Program, _ step: TraceStep) -> String {
    switch step.action.meaning {
    case .step(let k, _) where p.spec.cpus[k].switcherCPU != nil:
      let c = p.spec.cpus[k].switcherCPU ?? 0
      let hook = p.callChain(cpu: k, pc: step.before.contexts[k].pc).last?.name
      return "the context switch on \(p.spec.cpuNames[c])" + (hook.map { " (in \($0))" } ?? "")
    case .step(let k, _), .interrupt(let k): return cpuName(p, k)
    case .hardwareAccess(let c, _, _), .tlbEvict(let c, _):
      return "\(p.spec.cpuNames[c])'s hardware"
    case .shootdownIPI(let c, _): return p.spec.cpuNames[c]
    case .earlyFlush: return "the hypervisor"
    case .contextSwitch(let c, _): return "the scheduler on \(p.spec.cpuNames[c])"
    }
  }

  /// How a step that applied a batch came to apply it, for the sentence (empty for a
  /// program's own leave or flush).
  static func flushedBy(_ step: TraceStep, _ p: Program) -> String {
    switch step.action.meaning {
    case .earlyFlush(let c):
      return " when the hypervisor flushed \(p.spec.cpuNames[c])'s batch early"
    case .contextSwitch(let c, _):
      return " when the context switch on \(p.spec.cpuNames[c]) flushed the batch"
    default:
      return step.location.map { " when the batch was flushed at line \($0.start.line)" } ?? ""
    }
  }

  static func cpuName(_ p: Program, _ c: Int) -> String { p.spec.cpus[c].name }

  /// Whose hardware acted in a step: "cpu1's hardware" for a `hardware` line, and for a
  /// program's `touch` the program and the CPU whose hardware did it ("t0's access on c3").
  static func hardwareActor(_ p: Program, _ step: TraceStep) -> String {
    let cpu = hardwareCPU(p, step).map { p.spec.cpuNames[$0] } ?? "a CPU"
    guard let k = programOf(step) else { return "\(cpu)'s hardware" }
    return "\(cpuName(p, k))'s access on \(cpu)"
  }

  /// Whether a program step is at an instruction satisfying `test`.
  static func isInstruction(_ p: Program, _ step: TraceStep, _ test: (Instruction) -> Bool) -> Bool
  {
    guard let k = programOf(step) else { return false }
    return test(p.instruction(cpu: k, pc: step.before.contexts[k].pc))
  }

  /// The physical CPU a step happened on.
  static func hardwareCPU(_ p: Program, _ step: TraceStep) -> Int? {
    switch step.action.meaning {
    case .step(let k, _): return step.before.contexts[k].cpu
    case .interrupt(let h): return p.spec.cpus[h].handlerCPU
    case .hardwareAccess(let c, _, _), .tlbEvict(let c, _), .earlyFlush(let c),
      .shootdownIPI(let c, _), .contextSwitch(let c, _):
      return c
    }
  }

  /// A program with a write to `pte` queued in some CPU's batch, if any.
  static func queuedWriter(_ s: MachineSnapshot, pte x: Int) -> Int? {
    for cpu in s.cpus {
      if let e = cpu.batch.first(where: { $0.pte == x && !$0.isFlush }) { return e.writer }
    }
    return nil
  }

  static func line(_ r: SourceRange?) -> String {
    guard let r else { return "" }
    if r.start.file != 0, let file { return " (\(file.place(r.start)))" }
    return " (line \(r.start.line))"
  }

  /// The PTE a step looks at, if any: a hardware access's, or the one a program's
  /// operation reads (from the operation catalogue).
  static func readPTE(_ p: Program, _ step: TraceStep) -> Int? {
    guard let k = programOf(step) else {
      return step.action.kind == .hardwareAccess ? step.action.pte : nil
    }
    guard let use = p.operation(cpu: k, pc: step.before.contexts[k].pc) else { return nil }
    return use.use == .reads || use.use == .readsAndWrites ? use.pte : nil
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
    lastWriteIndex(trace, pte: pte, before: index).map { trace.steps[$0] }
  }

  static func lastWriteIndex(_ trace: Trace, pte: Int, before index: Int) -> Int? {
    trace.steps[..<index].indices.last { i in
      let step = trace.steps[i]
      guard step.action.kind == .cpuStep else { return false }
      let mask = ~PTE.hardwareBits
      return step.before.logical[pte].rawValue & mask != step.after.logical[pte].rawValue & mask
    }
  }

  static func bitNames(_ bits: UInt8) -> String {
    var parts: [String] = []
    if bits & PTE.dirtyBit != 0 { parts.append("dirty") }
    if bits & PTE.accessedBit != 0 { parts.append("accessed") }
    return parts.joined(separator: " and ")
  }
}

extension String {
  func replacingPrefix(_ prefix: String, with other: String) -> String {
    hasPrefix(prefix) ? other + dropFirst(prefix.count) : self
  }
}

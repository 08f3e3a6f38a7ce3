import PTState

/// The diagnostic of a runtime fault: at the statement of the step that faulted or, for
/// local code that loops without a kernel operation, at the `loop` the program was stuck
/// in. Found by replaying the fault's run once it is reported, so the interpreter and the
/// explorer track nothing for it.
enum FaultReport {
  static func diagnostic(_ program: Program, run: [Int], fault: RuntimeFault) -> Diagnostic {
    withScratchStates(wordCount: program.wordCount) { scratch in
      diagnostic(program, run: run, fault: fault, in: scratch[0])
    }
  }

  private static func diagnostic(
    _ program: Program, run: [Int], fault: RuntimeFault, in s: PackedState
  ) -> Diagnostic {
    let pcs = program.machine.layout.pc
    _ = program.writeInitialState(s)
    var context: Int?
    var stepped: Instruction?
    var range: SourceRange?
    if let last = run.last {
      for a in run.dropLast() { _ = program.apply(a, to: s) }
      let action = program.actions[last]
      if action.kind == .cpuStep {
        let pc = Int(s[pcs[action.cpu]])
        context = action.cpu
        stepped = program.instruction(cpu: action.cpu, pc: pc)
        range = program.source(cpu: action.cpu, pc: pc)
      }
      _ = program.apply(last, to: s)
    }
    // Only local code can fault in the initial state, and a program whose local code
    // never reached a visible instruction is left resting on a local one.
    if context == nil, fault == .localLoop {
      context = program.spec.cpus.indices.first {
        isLocal(program.instruction(cpu: $0, pc: Int(s[pcs[$0]])))
      }
    }
    guard let k = context else {
      let start = SourceRange(start: SourceLocation(line: 1, column: 1), length: 1)
      return Diagnostic("check.runtime-fault", fault.message, at: range ?? start)
    }
    let name = program.spec.cpus[k].name
    var hint = "in '\(name)'"
    if fault == .localLoop, let loop = stuckLoop(program, s, context: k) {
      range = loop
      hint = "'\(name)' is stuck in this loop"
    }
    if fault == .blockedInAtomic, let block = program.atomicBlock(cpu: k, pc: Int(s[pcs[k]])) {
      // The block's step stopped at the instruction that cannot go on.
      range = program.source(cpu: k, pc: Int(s[pcs[k]])) ?? range
      hint =
        "'\(name)' cannot go on here, inside the atomic block at line "
        + "\(block.source.start.line): only its first operation may wait"
    }
    if fault == .unlockNotHeld, case .spinUnlock(let l)? = stepped {
      hint = "'\(name)' does not hold '\(program.spec.lockNames[Int(l)])' here"
    }
    let at = range ?? program.spec.cpus[k].range
    return Diagnostic("check.runtime-fault", fault.message, at: at, hint: hint)
  }

  static func isLocal(_ i: Instruction) -> Bool { i.isLocal }

  /// The innermost `loop` of context `k` that holds every program counter its local code
  /// passes through in another round of the step limit, from where the fault stopped it:
  /// by then it is inside the loop that does not end, and one round covers that loop.
  static func stuckLoop(_ program: Program, _ s: PackedState, context k: Int) -> SourceRange? {
    var pc = Int(s[program.machine.layout.pc[k]])
    var low = pc
    var high = pc
    _ = program.runLocal(s, cpu: k, pc: &pc, low: &low, high: &high)
    let enclosing = program.loops.filter {
      $0.cpu == k && $0.pcs.contains(low) && $0.pcs.contains(high)
    }
    return enclosing.min { $0.pcs.count < $1.pcs.count }?.source
  }
}

import PTState

/// Partial-order reduction, the system's half: which program steps are *local*.
///
/// A step of program k is local when everything it reads or writes is k's own: its program
/// counter and registers, and, on a machine where every program is pinned to a CPU of its
/// own with lazy state per CPU (`Machine.isSimple`), that CPU's lazy flag, k's preempt
/// count, and declared variables only k's code names. No other program and no environment
/// action (hardware, TLB, early flush) reads or writes those fields, so a local step is
/// independent of every action of every other process in every state: taking it first
/// loses no interleaving that matters (the explorer's half, `Explore/PartialOrder.swift`,
/// and docs/properties.md, "Partial-order reduction", say why). The classification is by
/// instruction kind, from the instructions: a kind not listed is not local, so a construct
/// the language gains is never reduced until someone shows it is local. Debug builds check
/// on every reduced state that the step commutes with every other enabled action.
///
/// The fields a local step may write are never read by an invariant (a step that could
/// change an invariant's value is visible); its property events and faults are checked on
/// the step itself by the explorer, which expands the state fully when there are any.
extension Program {
  /// Per instruction (indexed as `code`): whether a step that starts there is local.
  static func localInstructions(
    code: [Instruction], cpuStart: [Int], machine: Machine, spec: CheckedSpec,
    variableAccesses: [VariableAccess], invariants: [CompiledInvariant],
    atomicBlockOf: [Int32]
  ) -> [Bool] {
    var local = [Bool](repeating: false, count: code.count)
    let config = machine.config
    let programs = spec.cpus.count
    // Every program pinned to a CPU of its own: no program shares a CPU's state with another.
    let pinned = config.pinnedCPU.compactMap { $0 }
    guard machine.isSimple, pinned.count == programs, Set(pinned).count == programs else {
      return local
    }
    // The fields invariants read: a step that writes one is visible.
    var invariantFields: Set<Field> = []
    for inv in invariants { invariantFields.formUnion(inv.fields) }
    // Declared variables every access of which is in one program's code (per program).
    var owner = [Int](repeating: -2, count: config.variables.count)  // -2: none, -1: shared
    let programOf = { (i: Int) -> Int in (cpuStart.lastIndex { $0 <= i }) ?? 0 }
    for (i, instr) in code.enumerated() {
      guard case .variable(_, let a) = instr else { continue }
      let v = variableAccesses[Int(a)].variable
      let k = programOf(i)
      owner[v] = owner[v] == -2 || owner[v] == k ? k : -1
    }
    for (i, instr) in code.enumerated() {
      let k = programOf(i)
      if !atomicBlockOf.isEmpty, atomicBlockOf[i] >= 0 { continue }  // a block: many steps
      switch instr {
      case .choose, .cover, .processorID:
        local[i] = true
      case .enterLazy:
        // Writes the CPU's lazy flag and the ghost set of locks k holds ("held by k" is a
        // fact only k's own lock steps change).
        let cpu = pinned[k]
        local[i] =
          !invariantFields.contains(machine.layout.lazy[cpu])
          && !invariantFields.contains(machine.layout.lazyLocks[cpu])
      case .preemptDisable, .preemptEnable:
        local[i] = !invariantFields.contains(machine.layout.preemptCount[k])
      case .variable(_, let a):
        let v = variableAccesses[Int(a)].variable
        let fields = machine.layout.variables[v]
        local[i] = owner[v] == k && fields.allSatisfy { !invariantFields.contains($0) }
      default:
        local[i] = false
      }
    }
    return local
  }

  /// The step actions of each program (the action table lists them first, program by
  /// program).
  static func stepActionRanges(_ actions: [Action], programs: Int) -> [Range<Int>] {
    (0..<programs).map { k in
      let first = actions.firstIndex { $0.kind == .cpuStep && $0.cpu == k } ?? 0
      let end = actions[first...].firstIndex { !($0.kind == .cpuStep && $0.cpu == k) }
      return first..<(end ?? actions.count)
    }
  }

  public var offersLocalSteps: Bool { reducible }

  public func localStepActions(of k: Int, in s: PackedStateView) -> Range<Int> {
    let pc = Int(s[machine.layout.pc[k]])
    return localStep[cpuStart[k] + pc] ? stepActions[k] : 0..<0
  }

  /// With `cmpxchg_terminates` checked, a state where some program is inside a `loop` (every
  /// retry loop is one) is expanded fully: a retry loop's subgraph is then the full graph's,
  /// from every state of it the reduced search reaches (docs/properties.md says why that
  /// suffices).
  @inline(__always) public func mustExpandFully(_ s: PackedStateView) -> Bool {
    guard expandsLoopsFully else { return false }
    for k in programsWithLoops where inSomeLoop[cpuStart[k] + Int(s[machine.layout.pc[k]])] {
      return true
    }
    return false
  }
}

import PTState

/// What one action of the transition system is: a program's next step (taking branch `arg`
/// at an `either` or a `pt_alloc`), a spontaneous hardware access, a TLB eviction, an early
/// flush of a lazy batch (the hypervisor call issued before `leave`, e.g. a full buffer), a
/// CPU handling a shootdown IPI, a context switch, or an interrupt firing.
///
/// Stored as four small fields, because the interpreter reads one for every action of every
/// state; `meaning` says what they are, with names, and the factories build them.
public struct Action: Sendable, Hashable {
  /// `cpuStep`: `cpu` is the program (context). `contextSwitch`: on CPU `cpu`, switch to
  /// task `pte - 1` (0: to idle). `interrupt`: handler `cpu` fires. The others: `cpu` is a
  /// physical CPU.
  public enum Kind: UInt8, Sendable {
    case cpuStep, hardwareAccess, tlbEvict, earlyFlush, shootdownIPI, contextSwitch, interrupt
  }
  public var kind: Kind
  public var cpu: Int
  public var pte: Int
  public var arg: UInt8

  /// What the action is, with named fields.
  public enum Meaning: Sendable, Equatable {
    case step(program: Int, branch: Int)
    case hardwareAccess(cpu: Int, pte: Int, kind: AccessKind)
    case tlbEvict(cpu: Int, pte: Int)
    case earlyFlush(cpu: Int)
    case shootdownIPI(cpu: Int, pte: Int)
    /// The scheduler switches `cpu` to task `to` (nil: to idle).
    case contextSwitch(cpu: Int, to: Int?)
    case interrupt(handler: Int)
  }

  public var meaning: Meaning {
    switch kind {
    case .cpuStep: return .step(program: cpu, branch: Int(arg))
    case .hardwareAccess:
      return .hardwareAccess(cpu: cpu, pte: pte, kind: AccessKind(rawValue: arg) ?? .read)
    case .tlbEvict: return .tlbEvict(cpu: cpu, pte: pte)
    case .earlyFlush: return .earlyFlush(cpu: cpu)
    case .shootdownIPI: return .shootdownIPI(cpu: cpu, pte: pte)
    case .contextSwitch: return .contextSwitch(cpu: cpu, to: pte == 0 ? nil : pte - 1)
    case .interrupt: return .interrupt(handler: cpu)
    }
  }

  /// The action `meaning` names.
  public init(_ meaning: Meaning) {
    switch meaning {
    case .step(let k, let branch):
      self.init(kind: .cpuStep, cpu: k, pte: 0, arg: UInt8(branch))
    case .hardwareAccess(let c, let p, let access):
      self.init(kind: .hardwareAccess, cpu: c, pte: p, arg: access.rawValue)
    case .tlbEvict(let c, let p): self.init(kind: .tlbEvict, cpu: c, pte: p, arg: 0)
    case .earlyFlush(let c): self.init(kind: .earlyFlush, cpu: c, pte: 0, arg: 0)
    case .shootdownIPI(let c, let p): self.init(kind: .shootdownIPI, cpu: c, pte: p, arg: 0)
    case .contextSwitch(let c, let task):
      self.init(kind: .contextSwitch, cpu: c, pte: task.map { $0 + 1 } ?? 0, arg: 0)
    case .interrupt(let h): self.init(kind: .interrupt, cpu: h, pte: 0, arg: 0)
    }
  }

  @inlinable init(kind: Kind, cpu: Int, pte: Int, arg: UInt8) {
    self.kind = kind
    self.cpu = cpu
    self.pte = pte
    self.arg = arg
  }
}

/// A `loop` in a program: the unit of the retry analysis when it contains a cmpxchg.
public struct RetryLoop: Sendable {
  /// The program (context) the loop belongs to.
  public var cpu: Int
  /// Program counters inside the loop body (the program is "in the loop" while pc is here).
  public var pcs: Range<Int>
  public var source: SourceRange
  /// The loop has a `break` of its own: it can end (a loop without one runs forever by
  /// design, and retries only what its inner loops retry).
  public var hasExit = false
}

/// An `atomic { ... }` block of a program: a step that starts at one of its program counters
/// runs on until the program counter leaves them (`Program.atomicStep`).
public struct AtomicBlock: Sendable {
  /// The program (context) the block belongs to.
  public var cpu: Int
  public var pcs: Range<Int>
  /// The `atomic` keyword.
  public var source: SourceRange
}

/// Faults that stop a run: the spec did something the machine cannot do.
public enum RuntimeFault: UInt8, Sendable {
  case unlockNotHeld = 1
  case batchOverflow = 2
  case localLoop = 3
  case preemptUnderflow = 4
  case counterOverflow = 5
  case variableFault = 6
  case blockedInAtomic = 7

  public var message: String {
    switch self {
    case .unlockNotHeld: return "a program released a lock it does not hold"
    case .batchOverflow: return "internal error: a lazy batch outgrew its static bound"
    case .localLoop:
      return "a program looped more than \(Program.maxLocalSteps) times without a kernel operation"
    case .preemptUnderflow:
      return "a program called preempt_enable() without a matching preempt_disable()"
    case .counterOverflow:
      return
        "a program nested lazy_mmu_mode_enable/pause or preempt_disable more than "
        + "\(MachineConfig.maxCount) deep"
    case .variableFault:
      return
        "a program gave a variable a value outside its range, named an element or a CPU that "
        + "does not exist, or used 'current' on a CPU that runs no task"
    case .blockedInAtomic:
      return
        "a program blocked inside an atomic block (only the block's first kernel operation may "
        + "wait)"
    }
  }
}

/// One access to a declared variable, as the interpreter runs it.
public struct VariableAccess: Sendable {
  public enum Kind: Sendable {
    case read
    case write(ExprRef)
    case add(Int)
    /// Writes the value and returns the old one.
    case exchange(ExprRef)
  }
  public enum Copy: Sendable {
    case global, thisCPU, current
    /// A context-switch hook's `prev` or `next`: the switch in progress on the actor's CPU.
    case switchPrev, switchNext
    case cpu(ExprRef)
  }
  public var kind: Kind
  public var variable: Int
  public var copy: Copy
  public var index: ExprRef?
}

/// An assertion in a program: what it reports to.
public struct CheckPoint: Sendable {
  public var kind: CheckKind
  public var range: SourceRange
}

/// One inlined call: the function, the call's statement, and the call it is inside.
public struct CallFrame: Sendable {
  public var name: String
  public var call: SourceRange
  public var parent: Int?
}

/// A declared `invariant`, compiled: its code reads `fields` through `.stateRead` (what
/// each names is `reads`, each with its copy resolved).
public struct CompiledInvariant: Sendable {
  public var name: String
  public var code: ExprRef
  public var fields: [Field]
  public var reads: [StateRead]
  public var range: SourceRange
}

/// The compiled transition system of one spec: the machine, each CPU's flat instruction
/// array with its source map, and the table of actions. Built by `Lowering`; executed by
/// the interpreter (`Program+Interpreter.swift`). A class: the explorer calls into it for
/// every action, and a reference is passed where a struct this size would be copied.
public final class Program: Sendable {
  public static let maxLocalSteps = 100_000
  public static let maxInstructionsPerCPU = Unrolling.maxSize

  public let spec: CheckedSpec
  public let machine: Machine
  public let code: [Instruction]
  public let cpuStart: [Int]
  /// Source range of each instruction (nil for the synthesized `end` and jumps).
  public let sourceMap: [SourceRange?]
  /// Per instruction: the kernel operation it comes from, if any (`OperationCatalogue`).
  let operations: [OperationUse?]
  public let expressionCode: [ExprOp]
  public let choiceTargets: [UInt32]
  public let loops: [RetryLoop]
  public let actions: [Action]
  public let variableAccesses: [VariableAccess]
  public let checks: [CheckPoint]
  public let invariants: [CompiledInvariant]
  let hasInvariants: Bool
  /// Inlined calls, and per instruction the innermost call it belongs to (-1: none).
  public let callFrames: [CallFrame]
  public let frameOf: [Int32]
  /// The `atomic` blocks, and per instruction the block it belongs to (-1: none). Only a
  /// spec with blocks (`hasAtomic`) takes the atomic path of a step.
  public let atomicBlocks: [AtomicBlock]
  let atomicBlockOf: [Int32]
  let hasAtomic: Bool
  /// Per CPU: the context that runs its context-switch hooks (-1: none, the switch is one
  /// step).
  public let switcherOf: [Int]
  /// Per cross-call function, per CPU: the context that runs it there (-1: none).
  public let crossCallHandlers: [[Int]]
  /// Bit per `PropertyKind` checked by this spec.
  public let propertyMask: UInt32
  /// Per event bit, the checked properties it violates; and the events that violate any.
  let eventMap: [UInt32]
  let violatingEvents: UInt32
  /// Partial-order reduction (`LocalSteps.swift`): per instruction, whether a step from it
  /// is local; each program's step actions; whether any step is local and no checked
  /// property forbids the reduction (`terminates`); whether in-loop states are expanded fully.
  let localStep: [Bool]
  let stepActions: [Range<Int>]
  let reducible: Bool
  let expandsLoopsFully: Bool
  /// Per instruction, whether it is inside a `loop`; the programs that have one
  /// (`mustExpandFully`, asked of every state and, recording edges, of every successor).
  let inSomeLoop: [Bool]
  let programsWithLoops: [Int]
  /// Symmetry reduction (`Symmetry.swift`): the interchangeable programs, if any.
  let symmetry: SymmetryGroups?

  init(
    spec: CheckedSpec, machine: Machine, code: [Instruction], cpuStart: [Int],
    sourceMap: [SourceRange?], operations: [OperationUse?],
    expressionCode: [ExprOp], choiceTargets: [UInt32], loops: [RetryLoop], actions: [Action],
    eventMap: [UInt32], variableAccesses: [VariableAccess] = [], checks: [CheckPoint] = [],
    invariants: [CompiledInvariant] = [], callFrames: [CallFrame] = [], frameOf: [Int32] = [],
    atomicBlocks: [AtomicBlock] = []
  ) {
    self.atomicBlocks = atomicBlocks
    var blockOf = [Int32](repeating: -1, count: atomicBlocks.isEmpty ? 0 : code.count)
    for (b, block) in atomicBlocks.enumerated() {
      for pc in block.pcs { blockOf[cpuStart[block.cpu] + pc] = Int32(b) }
    }
    self.atomicBlockOf = blockOf
    self.hasAtomic = !atomicBlocks.isEmpty
    self.callFrames = callFrames
    self.frameOf = frameOf
    self.variableAccesses = variableAccesses
    self.checks = checks
    self.invariants = invariants
    self.hasInvariants = !invariants.isEmpty
    self.spec = spec
    self.machine = machine
    self.code = code
    self.cpuStart = cpuStart
    self.sourceMap = sourceMap
    self.operations = operations
    self.expressionCode = expressionCode
    self.choiceTargets = choiceTargets
    self.loops = loops
    self.actions = actions
    self.propertyMask = spec.properties.reduce(0) { $0 | $1.bit }
    self.eventMap = eventMap
    var violating: UInt32 = 0
    for (bit, properties) in eventMap.enumerated() where properties != 0 { violating |= 1 << bit }
    self.violatingEvents = violating
    var handlers = spec.crossCallFunctions.map { _ in
      [Int](repeating: -1, count: machine.config.cpuCount)
    }
    for (k, cpu) in spec.cpus.enumerated() {
      if let f = cpu.crossCallFunction, let t = cpu.handlerCPU { handlers[f][t] = k }
    }
    self.crossCallHandlers = handlers
    self.switcherOf = (0..<machine.config.cpuCount).map { c in
      machine.config.switcherCPU.firstIndex { $0 == c } ?? -1
    }
    self.localStep = Program.localInstructions(
      code: code, cpuStart: cpuStart, machine: machine, spec: spec,
      variableAccesses: variableAccesses, invariants: invariants, atomicBlockOf: blockOf)
    self.stepActions = Program.stepActionRanges(actions, programs: spec.cpus.count)
    self.reducible = localStep.contains(true) && propertyMask & PropertyKind.terminates.bit == 0
    self.expandsLoopsFully =
      propertyMask & PropertyKind.cmpxchgTerminates.bit != 0 && !loops.isEmpty
    var inSomeLoop = [Bool](repeating: false, count: code.count)
    for loop in loops { for pc in loop.pcs { inSomeLoop[cpuStart[loop.cpu] + pc] = true } }
    self.inSomeLoop = inSomeLoop
    self.programsWithLoops = Set(loops.map(\.cpu)).sorted()
    self.symmetry = Program.symmetryGroups(
      code: code, cpuStart: cpuStart, machine: machine, spec: spec, actions: actions,
      expressionCode: expressionCode, choiceTargets: choiceTargets,
      variableAccesses: variableAccesses, checks: checks, loops: loops, invariants: invariants)
  }

  public func checks(_ p: PropertyKind) -> Bool { propertyMask & p.bit != 0 }

  /// The instruction CPU `cpu` is about to execute at `pc`.
  @inlinable public func instruction(cpu: Int, pc: Int) -> Instruction { code[cpuStart[cpu] + pc] }

  public func source(cpu: Int, pc: Int) -> SourceRange? { sourceMap[cpuStart[cpu] + pc] }

  /// The kernel operation program `cpu` runs at `pc`, and how it uses its PTE.
  func operation(cpu: Int, pc: Int) -> OperationUse? { operations[cpuStart[cpu] + pc] }

  /// The atomic block program `cpu`'s instruction at `pc` belongs to, if any.
  public func atomicBlock(cpu: Int, pc: Int) -> AtomicBlock? {
    atomicBlockIndex(cpu: cpu, pc: pc).map { atomicBlocks[$0] }
  }

  /// That block's index in `atomicBlocks`.
  public func atomicBlockIndex(cpu: Int, pc: Int) -> Int? {
    guard hasAtomic else { return nil }
    let b = atomicBlockOf[cpuStart[cpu] + pc]
    return b < 0 ? nil : Int(b)
  }
}

/// An instruction's kernel operation: its catalogue entry, its PTE, and how this
/// instruction uses the PTE (the two halves of `ptep_get_and_clear_full(p, 1)` differ).
struct OperationUse: Sendable {
  let entry: OperationEntry
  let pte: Int?
  let use: OperationEntry.PTEUse
}

extension Program {
  /// The calls an instruction is inside, innermost first: `[(function, call site)]`.
  public func callChain(cpu: Int, pc: Int) -> [CallFrame] {
    let i = cpuStart[cpu] + pc
    guard i < frameOf.count, frameOf[i] >= 0 else { return [] }
    var chain: [CallFrame] = []
    var f: Int? = Int(frameOf[i])
    while let x = f {
      chain.append(callFrames[x])
      f = callFrames[x].parent
    }
    return chain
  }
}

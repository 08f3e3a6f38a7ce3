import PTState

/// Lowers a checked spec to a `Program`: structured statements become flat instructions
/// with jumps (`repeat N` is unrolled, `loop` jumps back, `either` becomes a `choose`),
/// every visible instruction keeps its source range, and the action table and the state
/// layout are fixed.
struct Lowering {
  /// Loops are numbered in a `UInt16` (0 meaning none).
  static let maxLoops = Int(UInt16.max) - 1

  private var code: [Instruction] = []
  private var sourceMap: [SourceRange?] = []
  /// Per instruction: the kernel operation it comes from and how it uses its PTE.
  private var operations: [OperationUse?] = []
  private var expressionCode: [ExprOp] = []
  private var choiceTargets: [UInt32] = []
  private var loops: [RetryLoop] = []
  private var variableAccesses: [VariableAccess] = []
  /// Inlined calls: every call site, and per instruction the innermost one it is in.
  private var callFrames: [CallFrame] = []
  private var frameOf: [Int32] = []
  private var frameStack: [Int] = []
  private var returnPatches: [[Int]] = []
  private var checks: [CheckPoint] = []

  // Per CPU while lowering.
  private var base = 0
  private var cpu = 0
  private var breakPatches: [[Int]] = []
  private var loopStack: [Int] = []  // ids of enclosing `loop`s
  private var hasBackEdge = false
  private var atomicBlocks: [AtomicBlock] = []
  private var atomicDepth = 0

  /// What lowering learned about each program that the machine's shape depends on.
  private struct ProgramFacts {
    var start = 0
    var pcLimit = 0
    /// Its queuing instructions (Int.max with a loop: any number).
    var queueing = 0
    var hasBackEdge = false
    var mayEnterLazy = false
    /// Whether it enters the machine's own lazy mode (not only a backend's multicalls).
    var usesMachineBatch = false
    /// PTEs it `touch`es (its CPUs keep a TLB slot for them).
    var touched: Set<Int> = []
  }

  /// - Parameter eventMap: per event bit, the checked properties it violates (from the
  ///   property table: Lower does not know what a property is beyond that).
  static func lower(_ spec: CheckedSpec, eventMap: [UInt32]) throws(Diagnostic) -> Program {
    var l = Lowering()
    let facts = try l.lowerPrograms(spec)
    let slots = batchSlots(spec, facts)
    let tlb = tlbSlots(spec, facts)
    let config = l.machineConfig(spec, facts, tlb)
    let machine = Machine(config: config, batchSlots: slots)
    let actions = l.actionTable(spec, facts, tlbCached: tlb.cached, batchSlots: slots, config)
    let invariants = l.invariants(spec, machine)
    return Program(
      spec: spec, machine: machine, code: l.code, cpuStart: facts.map(\.start),
      sourceMap: l.sourceMap, operations: l.operations, expressionCode: l.expressionCode,
      choiceTargets: l.choiceTargets, loops: l.loops, actions: actions, eventMap: eventMap,
      variableAccesses: l.variableAccesses, checks: l.checks, invariants: invariants,
      callFrames: l.callFrames, frameOf: l.frameOf, atomicBlocks: l.atomicBlocks)
  }

  /// Each invariant's code, and the field of the state each of its reads names.
  private mutating func invariants(_ spec: CheckedSpec, _ machine: Machine)
    -> [CompiledInvariant]
  {
    spec.invariants.map { inv in
      let fields = inv.reads.map { read -> Field in
        switch read {
        case .pte(let p): return machine.layout.mem[p]
        case .variable(let v, let instance, let element):
          let copy: Int
          switch instance {
          case .namedCPU(let c), .task(let c): copy = c
          default: copy = 0
          }
          return machine.variableField(v, copy: copy, element: element) ?? .absent
        }
      }
      return CompiledInvariant(
        name: inv.name, code: expr(inv.code), fields: fields, reads: inv.reads, range: inv.range)
    }
  }

  /// Each program's flat code, in program order, with what the machine's shape needs.
  private mutating func lowerPrograms(_ spec: CheckedSpec) throws(Diagnostic) -> [ProgramFacts] {
    var facts: [ProgramFacts] = []
    for (c, cpu) in spec.cpus.enumerated() {
      base = code.count
      self.cpu = c
      hasBackEdge = false
      if cpu.switcherCPU != nil {
        // The hooks of a context switch: idle between switches, then the start hook and the
        // end hook (also on a switch to idle: `next` is then the idle task, as in the
        // kernel's __switch_to()), and the step that ends the switch.
        emit(.switchIdle, nil)
        try lower(cpu.body, cpuName: cpu.name)
        emit(.switchDone, nil)
      } else if cpu.crossCallFunction != nil {
        // A cross-call function: idle until its IPI is taken, then its body, then the step
        // that unlocks the csd.
        emit(.crossCallIdle, nil)
        try lower(cpu.body, cpuName: cpu.name)
        emit(.crossCallDone, nil)
      } else {
        try lower(cpu.body, cpuName: cpu.name)
        emit(.end, nil)
      }
      let cpuCode = code[base...]
      guard cpuCode.count <= Program.maxInstructionsPerCPU else {
        throw Diagnostic(
          "sema.program-too-large",
          "the program of '\(cpu.name)' has \(cpuCode.count) instructions after unrolling 'repeat'",
          at: cpu.range,
          hint: "at most \(Program.maxInstructionsPerCPU); use 'loop' or fewer repetitions")
      }
      var f = ProgramFacts(start: base, pcLimit: cpuCode.count, hasBackEdge: hasBackEdge)
      for (offset, instr) in cpuCode.enumerated() {
        if case .multicallUpdate(_, _, _, draining: true) = instr { continue }  // counted once
        if operations[base + offset]?.entry.queuesIn.contains(spec.mode) ?? false {
          f.queueing += 1
        }
        if case .touch(_, let p, _) = instr { f.touched.insert(Int(p)) }
      }
      // A backend's own multicall entries fill the batch without lazy mode.
      f.usesMachineBatch =
        cpuCode.contains(.enterLazy) || cpuCode.contains(.lazyMMUEnable)
        || cpuCode.contains(.lazyMMUResume)
      f.mayEnterLazy =
        f.usesMachineBatch
        || cpuCode.contains { if case .multicallUpdate = $0 { return true } else { return false } }
      if spec.mode == .native { f.queueing = 0 } else if hasBackEdge { f.queueing = Int.max }
      facts.append(f)
    }
    return facts
  }

  /// The CPUs a program may run on: its pinned CPU, its handler CPU, or (a task) any CPU
  /// without a pinned program.
  private static func cpus(of cpu: CheckedCPU, _ spec: CheckedSpec) -> [Int] {
    if let c = cpu.pinnedCPU ?? cpu.handlerCPU ?? cpu.switcherCPU { return [c] }
    return spec.cpuNames.indices.filter { c in !spec.cpus.contains { $0.pinnedCPU == c } }
  }

  /// Entries each CPU's batch can hold at rest: what the programs that may run on it can
  /// queue, at most `batch_limit - 1` (queuing the last entry flushes).
  private static func batchSlots(_ spec: CheckedSpec, _ facts: [ProgramFacts]) -> [Int] {
    var slots = [Int](repeating: 0, count: spec.cpuNames.count)
    guard spec.mode != .native, facts.contains(where: \.mayEnterLazy) else { return slots }
    let hasMovingPrograms = spec.cpus.contains { $0.pinnedCPU == nil }
    if !hasMovingPrograms {
      for (k, cpu) in spec.cpus.enumerated() {
        guard let pinned = cpu.pinnedCPU, facts[k].mayEnterLazy else { continue }
        slots[pinned] = min(spec.batchLimit - 1, facts[k].queueing)
      }
      return slots
    }
    // With tasks and handlers, a CPU's batch holds what any program that may run on it
    // queued (a handler writing into a lazy CPU's batch is a bug to find): the bound is
    // their queuing instructions together, or the batch limit.
    for c in slots.indices {
      var total = 0
      for (k, cpu) in spec.cpus.enumerated() where cpus(of: cpu, spec).contains(c) {
        total = facts[k].queueing == Int.max ? Int.max : min(total + facts[k].queueing, Int.max - 1)
        if total == Int.max { break }
      }
      slots[c] = min(spec.batchLimit - 1, total)
    }
    return slots
  }

  /// Which CPU may hold which PTE in its TLB, and which start with it cached.
  ///
  /// Spontaneous hardware accesses get no TLB slot unless the spec asks (`tlb cpu: pte`):
  /// for them a TLB hit changes nothing, which is the same as the hardware not acting
  /// (always possible), so a TLB would only multiply states. Programs that `touch` a PTE
  /// observe hits (a stale translation that still works), so they keep one, and so does a
  /// `tlb` line, where a stale hit is what `no_stale_tlb` looks for.
  private static func tlbSlots(_ spec: CheckedSpec, _ facts: [ProgramFacts]) -> (
    cached: [[Bool]], initial: [[Bool]]
  ) {
    let none = [Bool](repeating: false, count: spec.pteNames.count)
    var cached = [[Bool]](repeating: none, count: spec.cpuNames.count)
    var initial = cached
    for (k, cpu) in spec.cpus.enumerated() {
      for c in cpus(of: cpu, spec) { for p in facts[k].touched { cached[c][p] = true } }
    }
    for e in spec.tlbEntries {
      cached[e.cpu][e.pte] = true
      initial[e.cpu][e.pte] = true
    }
    return (cached, initial)
  }

  /// The machine's static shape.
  private func machineConfig(
    _ spec: CheckedSpec, _ facts: [ProgramFacts], _ tlb: (cached: [[Bool]], initial: [[Bool]])
  ) -> MachineConfig {
    var tracked = PTE.dirtyBit
    if spec.trackAccessed { tracked |= PTE.accessedBit }
    var config = MachineConfig(
      mode: spec.mode, cpuCount: spec.cpuNames.count, pteCount: spec.pteNames.count,
      lockCount: spec.lockNames.count,
      ptlOf: spec.ptlOf, batchLimit: spec.batchLimit,
      registerCount: spec.cpus.map(\.registers.count),
      pcLimit: facts.map(\.pcLimit), tlbCached: tlb.cached, trackedHardwareBits: tracked,
      initialPTEs: spec.initialPTEs)
    config.tracksLostUpdates = spec.properties.contains(.noLostUpdate)
    config.tracksOwnTLBUse =
      spec.properties.contains(.noStaleRead) && facts.contains { !$0.touched.isEmpty }
    config.initialMMUsers = spec.mmUsers
    config.pinnedCPU = spec.cpus.map(\.pinnedCPU)
    config.initialCPU = spec.cpus.map(\.initialCPU)
    config.handlerCPU = spec.cpus.map(\.handlerCPU)
    if spec.cpus.contains(where: { $0.crossCallFunction != nil }) {
      config.crossCallHandler = spec.cpus.map { $0.crossCallFunction != nil }
    }
    if spec.cpus.contains(where: { $0.switcherCPU != nil }) {
      config.switcherCPU = spec.cpus.map(\.switcherCPU)
    }
    config.lazyPerTask = spec.lazyPerTask
    config.contextSwitchHooks = spec.contextSwitchHooks
    config.interruptsNeverLazy = spec.interruptsNeverLazy
    config.usesIRQDisable = code.contains { $0 == .irqDisable || $0 == .irqEnable }
    config.lazyDisablesPreemption = spec.lazyDisablesPreemption
    config.initialTLB = tlb.initial
    config.initialPGDs = spec.initialPGDs
    config.lockOfPGD = spec.lockOfPGD
    config.pgdOf = spec.pgdOf
    config.ptPageCount = spec.ptPageNames.count
    config.tracksStaleTLB = spec.properties.contains(.noStaleTLB)
    config.usesAsyncShootdown = code.contains {
      if case .flushTLBStart = $0 { return true } else { return false }
    }
    config.usesNestingCounters = code.contains {
      [.lazyMMUEnable, .lazyMMUDisable, .lazyMMUPause, .lazyMMUResume].contains($0)
    }
    config.usesPreemptCount = code.contains { $0 == .preemptDisable || $0 == .preemptEnable }
    config.taskOfProgram = spec.taskInstance
    config.hasIdleTasks = spec.cpus.contains {
      $0.pinnedCPU == nil && $0.handlerCPU == nil && $0.switcherCPU == nil
        && $0.crossCallFunction == nil
    }
    config.variables = spec.variables.map { v in
      let copies: VariableShape.Copies
      switch v.scope {
      case .global: copies = .global
      case .percpu: copies = .perCPU
      case .pertask: copies = .perTask
      }
      return VariableShape(
        copies: copies, elements: v.elements, low: UInt8(v.low), high: UInt8(v.high),
        initial: UInt8(v.initial))
    }
    return config
  }

  /// The action table, in the order the explorer tries actions (which numbers the BFS and
  /// so every trace): every program's steps (one per `either` branch), the hardware, TLB
  /// evictions, early flushes, the scheduler, interrupts, shootdown IPIs.
  private func actionTable(
    _ spec: CheckedSpec, _ facts: [ProgramFacts], tlbCached: [[Bool]], batchSlots: [Int],
    _ config: MachineConfig
  ) -> [Action] {
    let cpuCount = spec.cpuNames.count
    var actions: [Action] = []
    for (c, f) in facts.enumerated() {
      var branches = 1
      for instr in code[f.start..<(f.start + f.pcLimit)] {
        if case .choose(_, let n) = instr { branches = max(branches, Int(n)) }
        if case .ptAlloc = instr { branches = max(branches, AllocatorOutcome.allCases.count) }
      }
      for k in 0..<branches {
        actions.append(Action(.step(program: c, branch: k)))
      }
    }
    // A hardware access whose CPU makes no difference (no TLB slot for the PTE on either
    // CPU, no cached top-level entry above it, no mm to gate it) has the same successor and
    // the same events from every CPU: one action stands for all, the first CPU's (the one a
    // breadth-first search would credit anyway: the first action in table order).
    func cpuBlind(_ c: Int, _ p: Int) -> Bool {
      !tlbCached[c][p] && (config.pgdOf.isEmpty || config.pgdOf[p] == nil)
        && config.initialMMUsers == nil
    }
    for h in spec.hardware {
      let a = Action(.hardwareAccess(cpu: h.cpu, pte: h.pte, kind: h.kind))
      let same = actions.contains { b in
        b.kind == .hardwareAccess && b.pte == h.pte && b.arg == a.arg
          && (b.cpu == h.cpu || (cpuBlind(b.cpu, h.pte) && cpuBlind(h.cpu, h.pte)))
      }
      if !same { actions.append(a) }
    }
    for c in 0..<cpuCount {
      for p in 0..<spec.pteNames.count where tlbCached[c][p] {
        actions.append(Action(.tlbEvict(cpu: c, pte: p)))
      }
    }
    // The machine's batch may be issued early (its declared behaviour: a hypercall for
    // reasons the spec does not model), and so may a shadow sync (the walker's copy catches
    // up when the hardware or the hypervisor gets to it: arm64's stores before the dsb). A
    // Xen backend's multicall buffer is issued only where the backend's code issues it.
    for c in 0..<cpuCount where batchSlots[c] > 0 {
      let early =
        spec.mode == .shadow
        || spec.cpus.indices.contains { k in
          facts[k].usesMachineBatch && Self.cpus(of: spec.cpus[k], spec).contains(c)
        }
      if early { actions.append(Action(.earlyFlush(cpu: c))) }
    }
    // The scheduler: on a CPU without a pinned program, switch to any task, or to idle.
    let tasks = spec.cpus.indices.filter {
      spec.cpus[$0].pinnedCPU == nil && spec.cpus[$0].handlerCPU == nil
        && spec.cpus[$0].switcherCPU == nil
    }
    if !tasks.isEmpty {
      let bareCPUs = (0..<cpuCount).filter { c in !spec.cpus.contains { $0.pinnedCPU == c } }
      for c in bareCPUs {
        for k in tasks { actions.append(Action(.contextSwitch(cpu: c, to: k))) }
        actions.append(Action(.contextSwitch(cpu: c, to: nil)))
      }
    }
    for (h, cpu) in spec.cpus.enumerated() where cpu.handlerCPU != nil {
      actions.append(Action(.interrupt(handler: h)))
    }
    if config.usesAsyncShootdown {
      for c in 0..<cpuCount {
        for p in 0..<spec.pteNames.count where tlbCached[c][p] {
          actions.append(Action(.shootdownIPI(cpu: c, pte: p)))
        }
      }
    }
    return actions
  }

  // MARK: Emission

  private var pc: Int { code.count - base }

  private mutating func emit(
    _ i: Instruction, _ range: SourceRange?, operation: OperationUse? = nil
  ) {
    code.append(i)
    sourceMap.append(range)
    operations.append(operation)
    frameOf.append(Int32(frameStack.last ?? -1))
  }

  private mutating func expr(_ ops: [ExprOp]) -> ExprRef {
    let ref = ExprRef(start: UInt32(expressionCode.count), count: UInt16(ops.count))
    expressionCode += ops
    return ref
  }

  private mutating func patch(_ at: Int, to target: Int) {
    switch code[at] {
    case .jump: code[at] = .jump(to: UInt32(target))
    case .jumpIfZero(let c, _): code[at] = .jumpIfZero(condition: c, to: UInt32(target))
    case .skipUnlessCallerIn(let m, _): code[at] = .skipUnlessCallerIn(mask: m, to: UInt32(target))
    default: break
    }
  }

  private mutating func lower(_ body: [CheckedStmt], cpuName: String) throws(Diagnostic) {
    for s in body {
      // Unrolled `repeat` can grow without bound: stop early with a clear error.
      if pc > Program.maxInstructionsPerCPU {
        throw Diagnostic(
          "sema.program-too-large",
          "the program of '\(cpuName)' has more than \(Program.maxInstructionsPerCPU) instructions "
            + "after unrolling 'repeat'",
          at: sourceMap.last.flatMap { $0 }
            ?? SourceRange(start: .init(line: 1, column: 1), length: 1),
          hint: "use 'loop' or fewer repetitions")
      }
      switch s {
      case .assign(let r, let ops):
        emit(.assign(dst: UInt8(r), value: expr(ops)), nil)
      case .op(.getAndClearFull(let p, true), let dst, let range, let name):
        // The kernel's two separate accesses: `pte = *ptep; native_pte_clear(ptep)`.
        let entry = OperationCatalogue.bySpelling[name]
        emit(
          .fullTeardownRead(dst: dst.map { UInt8($0) } ?? Register.discard, pte: UInt16(p)), range,
          operation: entry.map { OperationUse(entry: $0, pte: p, use: .reads) })
        emit(
          .nativeClear(pte: UInt16(p)), range,
          operation: entry.map { OperationUse(entry: $0, pte: p, use: .writes) })
      case .op(.reachable(let cond), _, let range, _):
        let skip = code.count
        emit(.jumpIfZero(condition: expr(cond), to: 0), nil)
        emit(.cover, range)
        patch(skip, to: pc)
      case .op(.crossCall(let mask, let f, let wait), _, let range, let name):
        let entry = OperationCatalogue.bySpelling[name]
        let use = entry.map { OperationUse(entry: $0, pte: nil, use: $0.pteUse) }
        let m = expr(mask)
        emit(.crossCall(mask: m, function: UInt8(f)), range, operation: use)
        if wait { emit(.crossCallWait(mask: m, function: UInt8(f)), range, operation: use) }
      case .op(.multicallUpdate(let p, let v, let kind), _, let range, let name):
        let entry = OperationCatalogue.bySpelling[name]
        let use = entry.map { OperationUse(entry: $0, pte: p, use: $0.pteUse) }
        let value = expr(v)
        for draining in [false, true] {
          emit(
            .multicallUpdate(pte: UInt16(p), value: value, entry: kind, draining: draining),
            range, operation: use)
        }
      case .op(.check(let kind, let cond), _, let range, _):
        // The test is local; the failing check is a step of its own at the statement.
        let skip = code.count
        emit(.jumpIfZero(condition: expr(cond), to: 0), nil)
        emit(.check(id: UInt16(checks.count)), range)
        checks.append(CheckPoint(kind: kind, range: range))
        patch(skip, to: pc)
      case .op(let op, let dst, let range, let name):
        let d = dst.map { UInt8($0) } ?? Register.discard
        let entry = OperationCatalogue.bySpelling[name]
        emit(
          instruction(op, dst: d), range,
          operation: entry.map { OperationUse(entry: $0, pte: op.pte, use: $0.pteUse) })
      case .ifElse(let cond, let a, let b):
        let branch = code.count
        emit(.jumpIfZero(condition: expr(cond), to: 0), nil)
        try lower(a, cpuName: cpuName)
        if b.isEmpty {
          patch(branch, to: pc)
        } else {
          let skip = code.count
          emit(.jump(to: 0), nil)
          patch(branch, to: pc)
          try lower(b, cpuName: cpuName)
          patch(skip, to: pc)
        }
      case .repeatN(let n, let b, _):
        // Bounded: Sema rejected programs over `Unrolling`'s limits before lowering.
        breakPatches.append([])
        for _ in 0..<n { try lower(b, cpuName: cpuName) }
        for at in breakPatches.removeLast() { patch(at, to: pc) }
      case .loop(let b, let range):
        guard loops.count < Lowering.maxLoops else {
          throw Diagnostic(
            "sema.program-too-large",
            "more than \(Lowering.maxLoops) loops after unrolling 'repeat'", at: range,
            hint: "use fewer repetitions")
        }
        let head = pc
        let id = loops.count
        loops.append(RetryLoop(cpu: cpu, pcs: head..<head, source: range))
        loopStack.append(id)
        breakPatches.append([])
        try lower(b, cpuName: cpuName)
        emit(.jump(to: UInt32(head)), nil)
        hasBackEdge = true
        loopStack.removeLast()
        let exits = breakPatches.removeLast()
        for at in exits { patch(at, to: pc) }
        loops[id].pcs = head..<pc
        loops[id].hasExit = !exits.isEmpty
      case .atomic(let b, let range):
        // A nested block is part of the outermost one.
        let start = pc
        atomicDepth += 1
        try lower(b, cpuName: cpuName)
        atomicDepth -= 1
        if atomicDepth == 0, pc > start {
          atomicBlocks.append(AtomicBlock(cpu: cpu, pcs: start..<pc, source: range))
        }
      case .breakLoop:
        breakPatches[breakPatches.count - 1].append(code.count)
        emit(.jump(to: 0), nil)
      case .inlined(let b, let name, let call):
        callFrames.append(CallFrame(name: name, call: call, parent: frameStack.last))
        frameStack.append(callFrames.count - 1)
        returnPatches.append([])
        try lower(b, cpuName: cpuName)
        for at in returnPatches.removeLast() { patch(at, to: pc) }
        frameStack.removeLast()
      case .ifCallerIn(let mask, let b):
        let skip = code.count
        emit(.skipUnlessCallerIn(mask: expr(mask), to: 0), nil)
        try lower(b, cpuName: cpuName)
        patch(skip, to: pc)
      case .returnCall:
        returnPatches[returnPatches.count - 1].append(code.count)
        emit(.jump(to: 0), nil)
      case .either(let branches, let range):
        guard choiceTargets.count + branches.count <= Int(UInt16.max) else {
          throw Diagnostic(
            "sema.program-too-large",
            "more than \(UInt16.max) 'either' branches after unrolling 'repeat'", at: range,
            hint: "use fewer repetitions")
        }
        let first = choiceTargets.count
        choiceTargets += [UInt32](repeating: 0, count: branches.count)
        emit(.choose(first: UInt16(first), count: UInt8(branches.count)), range)
        var ends: [Int] = []
        for (k, b) in branches.enumerated() {
          choiceTargets[first + k] = UInt32(pc)
          try lower(b, cpuName: cpuName)
          ends.append(code.count)
          emit(.jump(to: 0), nil)
        }
        for at in ends { patch(at, to: pc) }
      }
    }
  }

  private mutating func variable(_ kind: VariableAccess.Kind, _ ref: VariableRef, _ dst: Register)
    -> Instruction
  {
    let copy: VariableAccess.Copy
    switch ref.instance {
    case .global: copy = .global
    case .thisCPU: copy = .thisCPU
    case .current: copy = .current
    case .switchPrev: copy = .switchPrev
    case .switchNext: copy = .switchNext
    case .cpu(let c): copy = .cpu(expr(c))
    case .task, .namedCPU: copy = .global  // invariants only
    }
    let access = VariableAccess(
      kind: kind, variable: ref.variable, copy: copy, index: ref.index.map { expr($0) })
    variableAccesses.append(access)
    return .variable(dst: dst, access: UInt16(variableAccesses.count - 1))
  }

  private mutating func instruction(_ op: KernelOp, dst: Register) -> Instruction {
    switch op {
    case .spinLock(let l): return .spinLock(lock: UInt16(l))
    case .spinUnlock(let l): return .spinUnlock(lock: UInt16(l))
    case .enterLazy: return .enterLazy
    case .leaveLazy: return .leaveLazy
    case .flushLazy: return .flushLazy
    case .setPTE(let p, let v): return .setPTE(pte: UInt16(p), value: expr(v))
    case .ptepGet(let p): return .ptepGet(dst: dst, pte: UInt16(p))
    case .getAndClear(let p): return .getAndClear(dst: dst, pte: UInt16(p))
    case .xchg(let p, let v): return .xchg(dst: dst, pte: UInt16(p), value: expr(v))
    case .cmpxchg(let p, let e, let n):
      let loop = loopStack.last.map { UInt16($0 + 1) } ?? 0
      return .cmpxchg(dst: dst, pte: UInt16(p), expected: expr(e), new: expr(n), loop: loop)
    case .modifyProtStart(let p): return .modifyProtStart(dst: dst, pte: UInt16(p))
    case .modifyProtCommit(let p, let v): return .modifyProtCommit(pte: UInt16(p), value: expr(v))
    case .flushTLB(let p): return .flushTLB(pte: UInt16(p))
    case .setPGD(let g, let v): return .setPGD(pgd: UInt16(g), value: expr(v))
    case .pgdGet(let g): return .pgdGet(dst: dst, pgd: UInt16(g))
    case .loadCR3: return .loadCR3
    case .flushTLBMM: return .flushTLBMM
    case .ptAlloc(let g): return .ptAlloc(dst: dst, page: UInt16(g))
    case .ptFree(let g): return .ptFree(page: UInt16(g))
    case .cover, .reachable: return .cover  // `reachable` is lowered by `lower(_:cpuName:)`
    case .check: return .check(id: 0)  // lowered by `lower(_:cpuName:)`
    case .crossCall: return .crossCallIdle  // lowered by `lower(_:cpuName:)`
    case .localFlushTLB(let p): return .localFlushTLB(pte: UInt16(p))
    case .localFlushTLBPages(let m): return .localFlushTLBPages(mask: expr(m))
    case .flushTLBPages(let m): return .flushTLBPages(mask: expr(m))
    case .crossCallWait(let m, let f): return .crossCallWait(mask: expr(m), function: UInt8(f))
    case .processorID: return .processorID(dst: dst)
    case .irqsDisabled: return .irqsDisabled(dst: dst)
    case .multicallUpdate(let p, let v, let kind):  // lowered by `lower(_:cpuName:)`
      return .multicallUpdate(pte: UInt16(p), value: expr(v), entry: kind, draining: false)
    case .hypercallUpdate(let p, let v): return .hypercallUpdate(pte: UInt16(p), value: expr(v))
    case .multicallIssue: return .multicallIssue
    case .variableRead(let ref): return variable(.read, ref, dst)
    case .variableWrite(let ref, let v): return variable(.write(expr(v)), ref, dst)
    case .variableAdd(let ref, let n): return variable(.add(n), ref, dst)
    case .variableExchange(let ref, let v): return variable(.exchange(expr(v)), ref, dst)
    case .flushTLBStart(let p): return .flushTLBStart(pte: UInt16(p))
    case .flushTLBWait(let p): return .flushTLBWait(pte: UInt16(p))
    case .touch(let p, let k): return .touch(dst: dst, pte: UInt16(p), kind: k)
    case .getAndClearFull(let p, _):  // full = 0: the atomic exchange
      return .getAndClear(dst: dst, pte: UInt16(p))
    case .lazyMMUEnable: return .lazyMMUEnable
    case .lazyMMUDisable: return .lazyMMUDisable
    case .lazyMMUPause: return .lazyMMUPause
    case .lazyMMUResume: return .lazyMMUResume
    case .preemptDisable: return .preemptDisable
    case .preemptEnable: return .preemptEnable
    case .mightSleep: return .mightSleep
    case .irqDisable: return .irqDisable
    case .irqEnable: return .irqEnable
    case .mmget: return .mmget
    case .mmput: return .mmput(dst: dst)
    }
  }
}

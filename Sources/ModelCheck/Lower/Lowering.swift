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

  // Per CPU while lowering.
  private var base = 0
  private var cpu = 0
  private var breakPatches: [[Int]] = []
  private var loopStack: [Int] = []  // ids of enclosing `loop`s
  private var hasBackEdge = false

  /// - Parameter eventMap: per event bit, the checked properties it violates (from the
  ///   property table: Lower does not know what a property is beyond that).
  static func lower(_ spec: CheckedSpec, eventMap: [UInt16]) throws(Diagnostic) -> Program {
    var l = Lowering()
    var cpuStart: [Int] = []
    var pcLimit: [Int] = []
    let cpuCount = spec.cpuNames.count
    var batchSlots = [Int](repeating: 0, count: cpuCount)
    var tlbCached = [[Bool]](
      repeating: [Bool](repeating: false, count: spec.pteNames.count), count: cpuCount)
    var mayEnterLazy: [Bool] = []
    var queueingCount: [Int] = []  // per program: its queuing instructions (Int.max with a loop)
    let hasMovingPrograms = spec.cpus.contains { $0.pinnedCPU == nil }
    let bareCPUs = (0..<cpuCount).filter { c in !spec.cpus.contains { $0.pinnedCPU == c } }
    /// The CPUs a context may run on: its pinned CPU, its handler CPU, or (a task) any CPU
    /// without a pinned program.
    func cpusOf(_ cpu: CheckedCPU) -> [Int] {
      if let c = cpu.pinnedCPU ?? cpu.handlerCPU { return [c] }
      return bareCPUs
    }
    for (c, cpu) in spec.cpus.enumerated() {
      l.base = l.code.count
      l.cpu = c
      l.hasBackEdge = false
      cpuStart.append(l.base)
      try l.lower(cpu.body, cpuName: cpu.name)
      l.emit(.end, nil)
      let cpuCode = l.code[l.base...]
      guard cpuCode.count <= Program.maxInstructionsPerCPU else {
        throw Diagnostic(
          "sema.program-too-large",
          "the program of '\(cpu.name)' has \(cpuCode.count) instructions after unrolling 'repeat'",
          at: cpu.range,
          hint: "at most \(Program.maxInstructionsPerCPU); use 'loop' or fewer repetitions")
      }
      pcLimit.append(cpuCode.count)
      var queueing = 0
      for (offset, instr) in cpuCode.enumerated() {
        let use = l.operations[l.base + offset]
        if use?.entry.queuesIn.contains(spec.mode) ?? false { queueing += 1 }
        if case .touch(_, let p, _) = instr { for x in cpusOf(cpu) { tlbCached[x][Int(p)] = true } }
      }
      mayEnterLazy.append(
        cpuCode.contains(.enterLazy) || cpuCode.contains(.lazyMMUEnable)
          || cpuCode.contains(.lazyMMUResume))
      let cap = spec.mode == .native || !mayEnterLazy[c] ? 0 : spec.batchLimit - 1
      queueingCount.append(spec.mode == .native ? 0 : (l.hasBackEdge ? Int.max : queueing))
      if let pinned = cpu.pinnedCPU, !hasMovingPrograms {
        batchSlots[pinned] = l.hasBackEdge ? cap : min(cap, queueing)
      }
    }
    // With tasks and handlers, a CPU's batch holds what any program that may run on it
    // queued (a handler writing into a lazy CPU's batch is a bug to find): the bound is
    // their queuing instructions together, or the batch limit.
    if hasMovingPrograms, spec.mode != .native, mayEnterLazy.contains(true) {
      for c in 0..<cpuCount {
        var total = 0
        for (k, cpu) in spec.cpus.enumerated() where cpusOf(cpu).contains(c) {
          total = queueingCount[k] == Int.max ? Int.max : min(total + queueingCount[k], Int.max - 1)
          if total == Int.max { break }
        }
        batchSlots[c] = min(spec.batchLimit - 1, total)
      }
    }
    // Spontaneous hardware accesses get no TLB slot unless the spec asks (`tlb cpu: pte`):
    // for them a TLB hit changes nothing, which is the same as the hardware not acting
    // (always possible), so a TLB would only multiply states. Programs that `touch` a PTE
    // observe hits (a stale translation that still works), so they keep one, and so does a
    // `tlb` line, where a stale hit is what `no_stale_tlb` looks for.
    var initialTLB = [[Bool]](
      repeating: [Bool](repeating: false, count: spec.pteNames.count), count: cpuCount)
    for e in spec.tlbEntries {
      tlbCached[e.cpu][e.pte] = true
      initialTLB[e.cpu][e.pte] = true
    }

    var tracked = PTE.dirtyBit
    if spec.trackAccessed { tracked |= PTE.accessedBit }
    var config = MachineConfig(
      mode: spec.mode, cpuCount: cpuCount, pteCount: spec.pteNames.count,
      lockCount: spec.lockNames.count,
      ptlOf: spec.ptlOf, batchLimit: spec.batchLimit,
      registerCount: spec.cpus.map(\.registers.count),
      pcLimit: pcLimit, tlbCached: tlbCached, trackedHardwareBits: tracked,
      initialPTEs: spec.initialPTEs)
    config.tracksLostUpdates = spec.properties.contains(.noLostUpdate)
    config.tracksOwnTLBUse =
      spec.properties.contains(.noStaleRead)
      && l.code.contains { if case .touch = $0 { return true } else { return false } }
    config.initialMMUsers = spec.mmUsers
    config.pinnedCPU = spec.cpus.map(\.pinnedCPU)
    config.initialCPU = spec.cpus.map(\.initialCPU)
    config.handlerCPU = spec.cpus.map(\.handlerCPU)
    config.lazyPerTask = spec.lazyPerTask
    config.contextSwitchHooks = spec.contextSwitchHooks
    config.interruptsNeverLazy = spec.interruptsNeverLazy
    config.usesIRQDisable = l.code.contains { $0 == .irqDisable || $0 == .irqEnable }
    config.lazyDisablesPreemption = spec.lazyDisablesPreemption
    config.initialTLB = initialTLB
    config.initialPGDs = spec.initialPGDs
    config.lockOfPGD = spec.lockOfPGD
    config.pgdOf = spec.pgdOf
    config.ptPageCount = spec.ptPageNames.count
    config.tracksStaleTLB = spec.properties.contains(.noStaleTLB)
    config.usesAsyncShootdown = l.code.contains {
      if case .flushTLBStart = $0 { return true } else { return false }
    }
    config.usesNestingCounters = l.code.contains {
      [.lazyMMUEnable, .lazyMMUDisable, .lazyMMUPause, .lazyMMUResume].contains($0)
    }
    config.usesPreemptCount = l.code.contains { $0 == .preemptDisable || $0 == .preemptEnable }
    let machine = Machine(config: config, batchSlots: batchSlots)

    // The action table: every CPU step (one per `either` branch), then the hardware.
    var actions: [Action] = []
    for (c, _) in spec.cpus.enumerated() {
      var branches = 1
      for instr in l.code[cpuStart[c]..<(cpuStart[c] + pcLimit[c])] {
        if case .choose(_, let n) = instr { branches = max(branches, Int(n)) }
        if case .ptAlloc = instr { branches = max(branches, 2) }
      }
      for k in 0..<branches {
        actions.append(Action(kind: .cpuStep, cpu: c, pte: 0, arg: UInt8(k)))
      }
    }
    for h in spec.hardware {
      let a = Action(kind: .hardwareAccess, cpu: h.cpu, pte: h.pte, arg: h.kind.rawValue)
      if !actions.contains(a) { actions.append(a) }
    }
    for c in 0..<cpuCount {
      for p in 0..<spec.pteNames.count where tlbCached[c][p] {
        actions.append(Action(kind: .tlbEvict, cpu: c, pte: p, arg: 0))
      }
    }
    for c in 0..<cpuCount where batchSlots[c] > 0 {
      actions.append(Action(kind: .earlyFlush, cpu: c, pte: 0, arg: 0))
    }
    // The scheduler: on a CPU without a pinned program, switch to any task, or to idle.
    let tasks = spec.cpus.indices.filter {
      spec.cpus[$0].pinnedCPU == nil && spec.cpus[$0].handlerCPU == nil
    }
    if !tasks.isEmpty {
      for c in bareCPUs {
        for k in tasks { actions.append(Action(kind: .contextSwitch, cpu: c, pte: k + 1, arg: 0)) }
        actions.append(Action(kind: .contextSwitch, cpu: c, pte: 0, arg: 0))
      }
    }
    for (h, cpu) in spec.cpus.enumerated() where cpu.handlerCPU != nil {
      actions.append(Action(kind: .interrupt, cpu: h, pte: 0, arg: 0))
    }
    if config.usesAsyncShootdown {
      for c in 0..<cpuCount {
        for p in 0..<spec.pteNames.count where tlbCached[c][p] {
          actions.append(Action(kind: .shootdownIPI, cpu: c, pte: p, arg: 0))
        }
      }
    }

    return Program(
      spec: spec, machine: machine, code: l.code, cpuStart: cpuStart, sourceMap: l.sourceMap,
      operations: l.operations,
      expressionCode: l.expressionCode, choiceTargets: l.choiceTargets, loops: l.loops,
      actions: actions, eventMap: eventMap)
  }

  // MARK: Emission

  private var pc: Int { code.count - base }

  private mutating func emit(
    _ i: Instruction, _ range: SourceRange?, operation: OperationUse? = nil
  ) {
    code.append(i)
    sourceMap.append(range)
    operations.append(operation)
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
      case .breakLoop:
        breakPatches[breakPatches.count - 1].append(code.count)
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

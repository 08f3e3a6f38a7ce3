import PTState

/// Semantic analysis: resolves every name, checks arity and operand kinds, checks the
/// declarations (mode, properties, expectation), lowers expressions to postfix code and
/// runs the lock-balance check. The passes, in order (`run`):
///   1. `declareMachine`: mode, batch limit, PTEs, pgd entries, page-table pages, locks;
///   2. `declareCPUs`: the CPUs, then the programs in their order;
///   3. `declareCoverage`: lock `protects` lists, `hardware`, `tlb` and `mm` lines;
///   4. `checkProperties`: `check`, `track` and the expectation (`expect`, required);
///   5. `checkPrograms`: each program's registers, statements, expressions, placement;
///   5c. `checkSwitchHooks`: spec-defined context-switch hooks and their `cpuN/sched`
///      contexts (`SwitchHooks.swift`);
///   5d. `checkCrossCalls`: the `cpuN/ipi:f` contexts of the functions
///      `smp_call_function_many` runs (`CrossCalls.swift`);
///   6. `checkSizesAndLocking`: `Unrolling` (the size once `repeat` is unrolled), then
///      `LockCheck` (no `spin_unlock` of a lock that cannot be held there);
///   7. `checkOptions`: options that contradict each other.
/// All errors are collected; any error stops the pipeline.
struct Sema {
  var diagnostics: [Diagnostic] = []
  let ast: SpecAST

  var pteIndex: [String: Int] = [:]
  var lockIndex: [String: Int] = [:]
  var cpuIndex: [String: Int] = [:]
  var pgdIndex: [String: Int] = [:]
  var ptPageIndex: [String: Int] = [:]
  var declared: [String: SourceRange] = [:]
  // Declared kernel state (`KernelState.swift`).
  var enumValues: [String: (enumName: String, value: Int)] = [:]
  var variableIndex: [String: Int] = [:]
  var variables: [CheckedVariable] = []
  var programIndex: [String: Int] = [:]
  var programDecls: [CPUDecl] = []
  /// Set while an invariant is compiled: the state fields it reads so far.
  var invariantReads: [StateRead]?
  // Functions (`Functions.swift`): the definitions, and while inlining, the calls open
  // and their return registers; the registers of the program being checked.
  var functions: [String: FunctionDecl] = [:]
  var callStack: [String] = []
  /// How many `atomic` blocks the statements being checked are inside.
  var atomicDepth = 0
  var returnRegisters: [Int] = []
  /// Per open call: the parameters bound to a name (a PTE, lock, pgd entry, page or
  /// variable) instead of a value.
  var nameAliases: [[String: Name]] = []
  var programRegisters: [String: Int] = [:]
  /// Whether the program being checked is an interrupt handler (`in_interrupt()`).
  var checkingHandler = false
  /// While a context-switch hook's own body is checked: its parameter's name and the task
  /// it names (`SwitchHooks.swift`).
  var hookTask: (name: String, instance: VariableInstance)?
  /// The functions `smp_call_function_many` calls, and per function the CPUs it may target
  /// (a bit per CPU; `CrossCalls.swift`).
  var crossCallFunctions: [String] = []
  var crossCallTargets: [UInt8] = []
  /// While a pinned CPU program or a handler is checked: the CPU it runs on.
  var callerCPU: Int?

  static let constants: [String: UInt8] = [
    "none": 0, "present": PTE.presentBit, "write": PTE.writeBit, "accessed": PTE.accessedBit,
    "dirty": PTE.dirtyBit, "true": 1, "false": 0,
  ]

  static let builtins: [String: Int] = [
    "pfn": 1, "pte_present": 1, "pte_write": 1, "pte_dirty": 1, "pte_young": 1, "pte_none": 1,
    "pte_pfn": 1, "pte_wrprotect": 1, "pte_mkwrite": 1, "pte_mkclean": 1, "pte_mkdirty": 1,
    "pte_mkold": 1, "pte_mkyoung": 1, "pte_same": 2, "in_interrupt": 0, "in_task": 0,
    "cpu_bit": 1, "pte_bit": 1,
  ]

  private init(ast: SpecAST) { self.ast = ast }

  static func check(_ ast: SpecAST) throws(DiagnosticList) -> CheckedSpec {
    var sema = Sema(ast: ast)
    let spec = sema.run()
    // A function called from several programs reports its errors once.
    var seen = Set<String>()
    let unique = sema.diagnostics.filter {
      seen.insert("\($0.id) \($0.range.start.line):\($0.range.start.column) \($0.message)")
        .inserted
    }
    if !unique.isEmpty { throw DiagnosticList(unique) }
    return spec
  }

  mutating func error(
    _ id: String, _ message: String, _ range: SourceRange, hint: String? = nil,
    notes: [Diagnostic.Note] = []
  ) {
    diagnostics.append(Diagnostic(id, message, at: range, hint: hint, notes: notes))
  }

  mutating func declare(_ name: Name, _ what: String) -> Bool {
    if let previous = declared[name.text] {
      error(
        "sema.duplicate-name", "'\(name.text)' is already declared", name.range,
        hint: "names of PTEs, locks and CPUs must be unique",
        notes: [.init(range: previous, message: "'\(name.text)' declared here")])
      return false
    }
    if Sema.constants[name.text] != nil || OperationCatalogue.bySpelling[name.text] != nil
      || Sema.builtins[name.text] != nil || Sema.crossCallNames.contains(name.text)
    {
      error(
        "sema.reserved-name", "'\(name.text)' is a reserved name and cannot name a \(what)",
        name.range)
      return false
    }
    declared[name.text] = name.range
    return true
  }

  /// The passes, in order. Each pass fills its part of the checked spec and records its
  /// errors; all of them run, so that one run reports every error it can.
  private mutating func run() -> CheckedSpec {
    var spec = CheckedSpec()
    spec.title = ast.title?.0 ?? ""
    declareMachine(&spec)
    let contexts = declareCPUs(&spec)
    programDecls = contexts
    declareKernelState(contexts, &spec)
    declareFunctions()
    declareCoverage(&spec)
    checkProperties(&spec)
    checkPrograms(contexts, &spec)
    checkSwitchHooks(&spec)
    checkCrossCalls(&spec)
    checkSizesAndLocking(spec)
    checkOptions(&spec)
    checkInvariants(&spec)
    return spec
  }

  /// Pass 1: the paging mode, the batch limit, PTEs, pgd entries, page-table pages, locks.
  private mutating func declareMachine(_ spec: inout CheckedSpec) {
    if let m = ast.mode {
      if let parsed = ParavirtMode(rawValue: m.text) {
        spec.mode = parsed
      } else {
        error(
          "sema.unknown-mode", "unknown paging mode '\(m.text)'", m.range,
          hint: "expected 'native', 'direct' or 'shadow'")
      }
    } else {
      error(
        "sema.missing-mode", "the spec does not say its paging mode", ast.endOfFile,
        hint: "add 'mode native', 'mode direct' or 'mode shadow'")
    }
    if let (n, r) = ast.batchLimit {
      if !SpecLimits.batchLimit.contains(n) {
        error(
          "sema.bad-batch-limit", "batch limit \(n) is out of range", r,
          hint: "expected \(SpecLimits.batchLimit)")
      } else {
        spec.batchLimit = n
      }
    }
    let (pteNames, initial, ptes) = declareEntries(ast.ptes, "PTE")
    (spec.pteNames, spec.initialPTEs) = (pteNames, initial)
    pteIndex = ptes
    if ast.ptes.count > SpecLimits.ptes {
      error(
        "sema.too-many", "more than \(SpecLimits.ptes) PTEs",
        ast.ptes[SpecLimits.ptes].name.range)
    }
    let (pgdNames, initialPGDs, pgds) = declareEntries(ast.pgds, "pgd entry")
    (spec.pgdNames, spec.initialPGDs) = (pgdNames, initialPGDs)
    pgdIndex = pgds
    for n in ast.ptPages where declare(n, "page-table page") {
      ptPageIndex[n.text] = spec.ptPageNames.count
      spec.ptPageNames.append(n.text)
    }
    if pgdNames.count > SpecLimits.pgds {
      error(
        "sema.too-many", "more than \(SpecLimits.pgds) pgd entries",
        ast.pgds[SpecLimits.pgds].name.range)
    }
    if spec.ptPageNames.count > SpecLimits.ptPages {
      error(
        "sema.too-many", "more than \(SpecLimits.ptPages) page-table pages",
        ast.ptPages[SpecLimits.ptPages].range)
    }
    spec.pgdOf = ast.ptes.filter { pteIndex[$0.name.text] != nil }.map { d in
      d.under.flatMap { resolve($0, in: pgdIndex, "pgd entry") }
    }
    for d in ast.locks where declare(d.name, "lock") {
      lockIndex[d.name.text] = spec.lockNames.count
      spec.lockNames.append(d.name.text)
    }
    if ast.locks.count > SpecLimits.locks {
      error(
        "sema.too-many", "more than \(SpecLimits.locks) locks",
        ast.locks[SpecLimits.locks].name.range)
    }
  }

  /// Pass 2: the CPUs, then the programs in their order (pinned programs in CPU order,
  /// tasks, handlers); returns the program declarations in that order.
  private mutating func declareCPUs(_ spec: inout CheckedSpec) -> [CPUDecl] {
    // Physical CPUs, then contexts: pinned programs (in CPU order), tasks, handlers.
    for d in ast.cpus where d.kind == .cpu && declare(d.name, "CPU") {
      cpuIndex[d.name.text] = spec.cpuNames.count
      spec.cpuNames.append(d.name.text)
    }
    let contextDecls =
      ast.cpus.filter { $0.kind == .cpu && $0.body != nil } + ast.cpus.filter { $0.kind == .task }
      + ast.cpus.filter { $0.kind == .interrupt }
    for d in contextDecls where d.kind != .cpu {
      _ = declare(d.name, d.kind == .task ? "task" : "interrupt handler")
    }
    if spec.cpuNames.isEmpty {
      error(
        "sema.no-cpus", "the spec declares no CPU", ast.endOfFile, hint: "add 'cpu cpu0 { ... }'")
    }
    if spec.cpuNames.count > SpecLimits.cpus {
      error(
        "sema.too-many", "more than \(SpecLimits.cpus) CPUs",
        ast.cpus.filter { $0.kind == .cpu }[SpecLimits.cpus].name.range)
    }
    if contextDecls.count > SpecLimits.programs {
      error(
        "sema.too-many",
        "more than \(SpecLimits.programs) programs (CPU programs, tasks and handlers)",
        contextDecls[SpecLimits.programs].name.range)
    }
    return contextDecls
  }

  /// Pass 3: which lock protects each PTE and pgd entry, the hardware, TLB and mm lines.
  private mutating func declareCoverage(_ spec: inout CheckedSpec) {
    var ptlOf = [Int?](repeating: nil, count: spec.pteNames.count)
    var lockOfPGD = [Int?](repeating: nil, count: spec.pgdNames.count)
    var ptlRange: [Int: SourceRange] = [:]
    for d in ast.locks {
      guard let l = lockIndex[d.name.text] else { continue }
      for p in d.protects {
        if let g = pgdIndex[p.text] {
          if let other = lockOfPGD[g] {
            error(
              "sema.pte-two-locks",
              "pgd entry '\(p.text)' is already protected by '\(spec.lockNames[other])'", p.range,
              hint: "an entry has one lock")
          } else {
            lockOfPGD[g] = l
          }
          continue
        }
        guard let i = resolve(p, in: pteIndex, "PTE") else { continue }
        if let first = ptlOf[i] {
          error(
            "sema.pte-two-locks",
            "PTE '\(p.text)' is already protected by '\(spec.lockNames[first])'", p.range,
            hint: "a PTE belongs to exactly one page-table page",
            notes: ptlRange[i].map { [.init(range: $0, message: "first lock given here")] } ?? [])
        } else {
          ptlOf[i] = l
          ptlRange[i] = p.range
        }
      }
    }
    (spec.ptlOf, spec.lockOfPGD) = (ptlOf, lockOfPGD)
    for d in ast.hardware {
      let c = resolve(d.cpu, in: cpuIndex, "CPU")
      for (kindName, pteName) in d.accesses {
        let kind = accessKind(kindName)
        if let c, let kind, let p = resolve(pteName, in: pteIndex, "PTE") {
          spec.hardware.append((c, p, kind))
        }
      }
    }

    for d in ast.tlb {
      guard let c = resolve(d.cpu, in: cpuIndex, "CPU") else { continue }
      for p in d.ptes {
        if let i = resolve(p, in: pteIndex, "PTE") { spec.tlbEntries.append((c, i)) }
      }
    }
    if let names = ast.mm {
      spec.mmUsers = names.compactMap { resolve($0, in: cpuIndex, "CPU") }
    }
  }

  /// Pass 4: the checked properties, their bound, the tracked bits and the expectation.
  /// The properties a statement turns on by being in a program.
  static let impliedBy: [(PropertyKind, Set<String>)] = [
    (.reachable, ["cover", "reachable"]), (.noBug, ["BUG_ON", "VM_BUG_ON"]),
    // smp_call_function_many warns when called with interrupts off or from a handler.
    (
      .noWarn,
      [
        "WARN_ON", "WARN_ON_ONCE", "VM_WARN_ON", "VM_WARN_ON_ONCE", Sema.crossCallName,
        Sema.onEachCPUName,
      ]
    ),
    (.assertions, ["assert"]),
  ]

  /// Whether `body` calls one of `spellings` as a statement.
  static func calls(_ spellings: Set<String>, in body: [Stmt]) -> Bool {
    body.contains { s in
      switch s {
      case .call(let fn, _, _): return spellings.contains(fn.text)
      case .ifElse(_, let a, let b, _):
        return calls(spellings, in: a) || calls(spellings, in: b ?? [])
      case .repeatN(_, let b, _), .loop(let b, _), .atomic(let b, _):
        return calls(spellings, in: b)
      case .either(let bs, _): return bs.contains { calls(spellings, in: $0) }
      case .varDecl, .assign, .breakLoop, .returnStmt: return false
      }
    }
  }

  private mutating func checkProperties(_ spec: inout CheckedSpec) {
    var properties: [PropertyKind] = []
    for c in ast.checks {
      guard let k = property(c.property) else { continue }
      if !properties.contains(k) { properties.append(k) }
      if let b = c.bound {
        if k != .cmpxchgTerminates {
          error(
            "sema.bound-not-allowed", "only 'cmpxchg_terminates' takes a bound", c.property.range)
        } else if b > SpecLimits.retryBound {
          error(
            "sema.bad-bound", "retry bound \(b) is too large", c.property.range,
            hint: "expected 0...\(SpecLimits.retryBound)")
        } else if spec.retryBound != nil {
          error(
            "sema.bad-bound", "'cmpxchg_terminates' is given a bound twice", c.property.range,
            hint: "give one bound")
        } else {
          spec.retryBound = b
        }
      }
    }
    if ast.checks.isEmpty { properties = PropertyKind.defaults }
    // A `cover` or `reachable` statement asks for the `reachable` property by being there;
    // an assertion for its property; an `invariant` for `invariant`.
    for (property, spellings) in Sema.impliedBy {
      if !properties.contains(property),
        ast.cpus.contains(where: { Sema.calls(spellings, in: $0.body ?? []) })
          || ast.functions.contains(where: { Sema.calls(spellings, in: $0.body) })
      {
        properties.append(property)
      }
    }
    if !ast.invariants.isEmpty, !properties.contains(.invariant) {
      properties.append(.invariant)
    }
    properties.sort()
    spec.properties = properties
    for t in ast.tracked {
      if t.text == "accessed" {
        spec.trackAccessed = true
      } else {
        error(
          "sema.unknown-bit", "cannot track '\(t.text)'", t.range,
          hint: "expected 'accessed' (dirty is always tracked)")
      }
    }
    if let e = ast.expect {
      for name in e.failing {
        guard let k = property(name) else { continue }
        if !properties.contains(k) {
          error(
            "sema.expect-unchecked", "'\(name.text)' is expected to fail but is not checked",
            name.range, hint: "add it to a 'check' line")
        }
        spec.expectation.failing.insert(k)
      }
    } else {
      error(
        "sema.missing-expect", "the spec states no expected verdict", ast.endOfFile,
        hint: "add 'expect pass' or 'expect fail <property>'")
    }
  }

  /// Pass 5: each program's body, where tasks start and handlers fire, the lazy state.
  private mutating func checkPrograms(_ contextDecls: [CPUDecl], _ spec: inout CheckedSpec) {
    var startsOn: [Int: SourceRange] = [:]
    for d in contextDecls {
      // The CPU this context always runs on, if any: a cross-call from it never targets it.
      switch d.kind {
      case .cpu: callerCPU = cpuIndex[d.name.text]
      case .interrupt: callerCPU = d.on.flatMap { cpuIndex[$0.text] }
      default: callerCPU = nil
      }
      var cpu = checkCPU(d)
      callerCPU = nil
      switch d.kind {
      case .cpu:
        cpu.pinnedCPU = cpuIndex[d.name.text]
      case .task:
        if let on = d.on, let c = resolve(on, in: cpuIndex, "CPU") {
          if ast.cpus.contains(where: {
            $0.kind == .cpu && $0.name.text == on.text && $0.body != nil
          }) {
            error(
              "sema.cpu-has-program",
              "task '\(d.name.text)' cannot run on '\(on.text)', which runs its own program",
              on.range, hint: "declare the CPU without a program: 'cpu \(on.text)'")
          } else if let first = startsOn[c] {
            error(
              "sema.cpu-taken", "another task already starts on '\(on.text)'", on.range,
              notes: [.init(range: first, message: "first task placed here")])
          } else {
            startsOn[c] = on.range
            cpu.initialCPU = c
          }
        }
      case .interrupt:
        if let on = d.on { cpu.handlerCPU = resolve(on, in: cpuIndex, "CPU") }
      }
      spec.cpus.append(cpu)
    }
    if let l = ast.lazyState {
      switch l.text {
      case "per_cpu": spec.lazyPerTask = false
      case "per_task": spec.lazyPerTask = true
      default:
        error(
          "sema.bad-lazy-state", "unknown lazy state '\(l.text)'", l.range,
          hint: "expected 'per_cpu' or 'per_task'")
      }
    }
  }

  /// Pass 6: each program's size after unrolling, then its lock balance (only on a program
  /// of bounded size: the analysis walks `repeat` bodies).
  private mutating func checkSizesAndLocking(_ spec: CheckedSpec) {
    for cpu in spec.cpus {
      if let d = Unrolling.check(cpu) {
        diagnostics.append(d)
        continue
      }
      for e in LockCheck.unlocksOfUnheldLocks(cpu.body) {
        let name = spec.lockNames[e.lock]
        error(
          "sema.lock-not-held", "'\(cpu.name)' releases '\(name)', which it cannot hold here",
          e.range, hint: "no path reaches this 'spin_unlock' with '\(name)' held")
      }
    }
  }

  /// Pass 7: options that contradict each other.
  private mutating func checkOptions(_ spec: inout CheckedSpec) {
    spec.lazyDisablesPreemption = ast.lazyDisablesPreemption
    spec.contextSwitchHooks = ast.contextSwitchHooks
    spec.interruptsNeverLazy = ast.interruptsNeverLazy
    if ast.contextSwitchHooks, spec.lazyPerTask {
      error(
        "sema.hooks-per-task",
        "'context_switch_hooks' save a per-CPU lazy state; with 'lazy_state per_task' there is "
          + "none to save",
        ast.lazyState?.range ?? ast.endOfFile)
    }
  }

  /// Declares PTEs (or pgd entries): unique names, constant initial values.
  private mutating func declareEntries(_ decls: [PTEDecl], _ what: String) -> (
    [String], [PTE], [String: Int]
  ) {
    var index: [String: Int] = [:]
    var names: [String] = []
    var values: [PTE] = []
    for d in decls where declare(d.name, what) {
      index[d.name.text] = names.count
      names.append(d.name.text)
      let code = expression(d.initial, registers: [:])
      values.append(PTE(rawValue: code.flatMap(Sema.constantValue) ?? 0))
      if let code, Sema.constantValue(code) == nil {
        error(
          "sema.not-constant", "the initial value of a \(what) must be a constant", d.initial.range)
      }
    }
    return (names, values, index)
  }

  private mutating func property(_ name: Name) -> PropertyKind? {
    if let k = PropertyKind(name: name.text) { return k }
    let hint = closestName(to: name.text, in: PropertyKind.allCases.map(\.name)).map {
      "did you mean '\($0)'?"
    }
    error(
      "sema.unknown-property", "unknown property '\(name.text)'", name.range,
      hint: hint ?? "expected one of " + PropertyKind.allCases.map(\.name).joined(separator: ", "))
    return nil
  }

  private mutating func accessKind(_ name: Name) -> AccessKind? {
    switch name.text {
    case "read": return .read
    case "write": return .write
    default:
      error(
        "sema.bad-access", "unknown access kind '\(name.text)'", name.range,
        hint: "expected 'read' or 'write'")
      return nil
    }
  }

  mutating func resolve(_ name: Name, in table: [String: Int], _ what: String) -> Int? {
    let name = aliased(name)
    if let i = table[name.text] { return i }
    var notes: [Diagnostic.Note] = []
    var hint: String?
    if let guess = closestName(to: name.text, in: Array(table.keys)) {
      hint = "did you mean '\(guess)'?"
      if let r = declared[guess] {
        notes.append(.init(range: r, message: "'\(guess)' declared here"))
      }
    }
    error(
      "spec.unknown-name", "unknown \(what) '\(name.text)'", name.range, hint: hint, notes: notes)
    return nil
  }

  // MARK: Programs

  private mutating func checkCPU(_ d: CPUDecl) -> CheckedCPU {
    var registers: [String: Int] = [:]
    var order: [String] = []
    collectRegisters(d.body ?? [], &registers, &order)
    let code = d.kind == .interrupt ? interruptBody(d.body ?? [], at: d.name.range) : d.body ?? []
    addFunctionRegisters(code, &registers, &order)
    programRegisters = registers
    checkingHandler = d.kind == .interrupt
    let body = statements(code, registers: registers, loopDepth: 0)
    var boolean = Set(0..<order.count)
    markNonBoolean(body, &boolean)
    var cpu = CheckedCPU(
      name: d.name.text, registers: order, booleanRegisters: boolean, body: body,
      range: d.name.range)
    let kinds = registerKinds(code, registers)
    cpu.enumRegisters = kinds.enums
    cpu.numberRegisters = kinds.numbers.subtracting(boolean)
    return cpu
  }

  /// Removes from `boolean` every register assigned a value that may be other than 0 or 1.
  func markNonBoolean(_ body: [CheckedStmt], _ boolean: inout Set<Int>) {
    for s in body {
      switch s {
      case .assign(let r, let code):
        switch code.last {
        case .equal?, .notEqual?, .logicalAnd?, .logicalOr?, .logicalNot?, .testBits?: break
        case .constant(let v)? where code.count == 1 && v <= 1: break
        default: boolean.remove(r)
        }
      case .op(let op, let dst?, _, _):
        switch op {
        case .touch, .mmput, .ptAlloc: break
        case .variableRead(let ref) where variables[ref.variable].isBool: break
        case .variableExchange(let ref, _) where variables[ref.variable].isBool: break
        default: boolean.remove(dst)
        }
      case .op: break
      case .ifElse(_, let a, let b):
        markNonBoolean(a, &boolean)
        markNonBoolean(b, &boolean)
      case .repeatN(_, let b, _), .loop(let b, _), .atomic(let b, _):
        markNonBoolean(b, &boolean)
      case .either(let bs, _): for b in bs { markNonBoolean(b, &boolean) }
      case .inlined(let b, _, _), .ifCallerIn(_, let b): markNonBoolean(b, &boolean)
      case .breakLoop, .returnCall: break
      }
    }
  }

  mutating func collectRegisters(
    _ body: [Stmt], _ registers: inout [String: Int], _ order: inout [String]
  ) {
    for s in body {
      switch s {
      case .varDecl(let decls):
        for (name, _) in decls {
          if registers[name.text] != nil {
            error(
              "sema.duplicate-register", "register '\(name.text)' is declared twice", name.range)
          } else if declared[name.text] != nil || Sema.constants[name.text] != nil {
            error(
              "sema.register-shadows",
              "register '\(name.text)' hides a declaration of the same name", name.range)
          } else if order.count >= SpecLimits.registers {
            error("sema.too-many", "more than \(SpecLimits.registers) registers", name.range)
          } else {
            registers[name.text] = order.count
            order.append(name.text)
          }
        }
      case .ifElse(_, let a, let b, _):
        collectRegisters(a, &registers, &order)
        collectRegisters(b ?? [], &registers, &order)
      case .repeatN(_, let b, _), .loop(let b, _), .atomic(let b, _):
        collectRegisters(b, &registers, &order)
      case .either(let bs, _): for b in bs { collectRegisters(b, &registers, &order) }
      default: break
      }
    }
  }

  mutating func statements(_ body: [Stmt], registers: [String: Int], loopDepth: Int)
    -> [CheckedStmt]
  {
    var out: [CheckedStmt] = []
    for s in body {
      switch s {
      case .varDecl(let decls):
        for (name, initial) in decls {
          guard let r = registers[name.text] else { continue }
          if let initial, let code = expression(initial, registers: registers) {
            out.append(.assign(r, code))
          }
        }
      case .assign(let target, .call(let fn, let args, _), let range)
      where functions[fn.text] != nil:
        let r = resolve(target, in: registers, "register")
        if let f = functions[fn.text], let r {
          out += inline(
            f, args, dst: r, at: range, registers: registers, program: programRegisters)
        }
      case .call(let fn, let args, let range) where fn.text == Sema.onEachCPUName:
        out += onEachCPU(fn, args, range, registers: registers)
      case .call(let fn, let args, let range) where fn.text == Sema.crossCallName:
        if let op = crossCall(fn, args, registers: registers) {
          out.append(.op(op, dst: nil, range, operation: fn.text))
        }
      case .call(let fn, let args, let range) where functions[fn.text] != nil:
        if let f = functions[fn.text] {
          out += inline(
            f, args, dst: nil, at: range, registers: registers, program: programRegisters)
        }
      case .returnStmt(let e, let range):
        out += returnStatement(e, range, registers: registers)
      case .assign(let target, let value, let range):
        let r = resolve(target, in: registers, "register")
        if case .call(let fn, let args, _) = value, let op = OperationCatalogue.bySpelling[fn.text]
        {
          if !op.returnsValue {
            error(
              "sema.no-value", "'\(fn.text)' returns no value", fn.range,
              hint: "call it as a statement")
          }
          if let k = kernelOp(fn, args, range: range, registers: registers), let r {
            out.append(.op(k, dst: r, range, operation: op.name))
          }
        } else if let code = expression(value, registers: registers), let r {
          out.append(.assign(r, code))
        }
      case .call(let fn, let args, let range):
        if let op = OperationCatalogue.bySpelling[fn.text] {
          if let k = kernelOp(fn, args, range: range, registers: registers) {
            out.append(.op(k, dst: nil, range, operation: op.name))
          }
        } else {
          let spellings = Array(OperationCatalogue.bySpelling.keys)
          let hint = closestName(to: fn.text, in: spellings).map {
            "did you mean '\($0)'?"
          }
          error(
            "spec.unknown-name", "unknown kernel operation '\(fn.text)'", fn.range,
            hint: hint ?? "see docs/spec-language.md for the operations")
        }
      case .ifElse(let cond, let a, let b, _):
        let code = expression(cond, registers: registers)
        let thenBody = statements(a, registers: registers, loopDepth: loopDepth)
        let elseBody = statements(b ?? [], registers: registers, loopDepth: loopDepth)
        if let code { out.append(.ifElse(code, thenBody, elseBody)) }
      case .repeatN(let n, let b, let range):
        if !SpecLimits.repeatCount.contains(n) {
          error(
            "sema.bad-repeat", "repeat count \(n) is out of range", range,
            hint: "expected \(SpecLimits.repeatCount); use 'loop' for unbounded repetition")
        }
        let body = statements(b, registers: registers, loopDepth: loopDepth + 1)
        out.append(.repeatN(min(max(n, 0), SpecLimits.repeatCount.upperBound), body, range))
      case .loop(let b, let range):
        notInAtomic("'loop'", range)
        out.append(.loop(statements(b, registers: registers, loopDepth: loopDepth + 1), range))
      case .breakLoop(let range):
        if loopDepth == 0 { error("sema.break-outside-loop", "'break' outside a loop", range) }
        notInAtomic("'break'", range)
        out.append(.breakLoop)
      case .atomic(let b, let range):
        atomicDepth += 1
        let body = statements(b, registers: registers, loopDepth: loopDepth)
        atomicDepth -= 1
        out.append(.atomic(body, range))
      case .either(let bs, let range):
        notInAtomic("'either'", range)
        if bs.count > SpecLimits.eitherBranches {
          error(
            "sema.too-many", "more than \(SpecLimits.eitherBranches) branches in 'either'", range)
        }
        out.append(
          .either(bs.map { statements($0, registers: registers, loopDepth: loopDepth) }, range))
      }
    }
    return out
  }

  /// `atomic { ... }` runs its body as one deterministic step that ends: no choice (the
  /// step is one transition), no loop (it must end, and the retry analysis sees steps), no
  /// `cover`/`reachable` (no state rests inside the block).
  private mutating func notInAtomic(_ what: String, _ range: SourceRange, kind: String = "") {
    guard atomicDepth > 0 else { return }
    let hint: String
    switch kind.isEmpty ? what : "'\(kind)'" {
    case "'either'", "'pt_alloc'":
      hint = "an atomic block is one deterministic step: make the choice before the block"
    case "'cover'", "'reachable'":
      hint = "no state rests inside an atomic block: put it before or after the block"
    default:
      hint =
        "an atomic block must end in one step: unroll with 'repeat', or leave the loop "
        + "outside the block"
    }
    error("sema.in-atomic", "\(what) inside an atomic block", range, hint: hint)
  }

  private mutating func kernelOp(
    _ fn: Name, _ args: [Expr], range: SourceRange, registers: [String: Int]
  ) -> KernelOp? {
    guard let entry = OperationCatalogue.bySpelling[fn.text] else { return nil }
    if ["pt_alloc", "cover", "reachable"].contains(entry.name) {
      notInAtomic("'\(fn.text)'", fn.range, kind: entry.name)
    }
    guard args.count == entry.arguments.count else {
      let expected = entry.arguments.map(OperationEntry.argName).joined(separator: ", ")
      error(
        "sema.arity",
        "'\(fn.text)' takes \(entry.arguments.count) "
          + "argument\(entry.arguments.count == 1 ? "" : "s"), not \(args.count)",
        fn.range, hint: "expected \(fn.text)(\(expected))")
      return nil
    }
    var operands = Operands()
    var ok = true
    var variableArgs: [Expr] = []
    var taskArg = VariableInstance.current
    for (arg, kind) in zip(args, entry.arguments) {
      switch kind {
      case .variable:
        variableArgs.append(arg)
        continue
      case .task:
        guard case .name(let t) = arg, t.text == "current" || t.text == hookTask?.name else {
          error(
            "sema.expected-current", "expected 'current' (the task running this code)", arg.range,
            hint: Sema.taskHint)
          ok = false
          continue
        }
        if t.text != "current", let h = hookTask { taskArg = h.instance }
        continue
      default: break
      }
      switch kind {
      case .pte, .lock, .access, .pgd, .ptpage:
        guard case .name(let n) = arg else {
          error(
            "sema.expected-name", "expected a \(OperationEntry.argName(kind)) name", arg.range)
          ok = false
          continue
        }
        switch kind {
        case .pte:
          if let p = resolve(n, in: pteIndex, "PTE") { operands.ptes.append(p) } else { ok = false }
        case .lock:
          if let l = resolve(n, in: lockIndex, "lock") {
            operands.locks.append(l)
          } else {
            ok = false
          }
        case .pgd:
          if let g = resolve(n, in: pgdIndex, "pgd entry") {
            operands.pgds.append(g)
          } else {
            ok = false
          }
        case .ptpage:
          if let g = resolve(n, in: ptPageIndex, "page-table page") {
            operands.pages.append(g)
          } else {
            ok = false
          }
        default:
          if let a = accessKind(n) { operands.access = a } else { ok = false }
        }
      case .value:
        if let code = expression(arg, registers: registers) {
          operands.values.append(code)
        } else {
          ok = false
        }
      case .variable, .task: break
      }
    }
    for arg in variableArgs {
      let cpu = entry.variableStyle == .perCPU ? operands.values.first : nil
      if let ref = variableRef(
        arg, style: entry.variableStyle, cpu: cpu, task: taskArg, registers: registers)
      {
        operands.variables.append(ref)
      } else {
        ok = false
      }
    }
    guard ok else { return nil }
    guard let op = entry.build(operands) else {
      // The only operand that must be a constant: ptep_get_and_clear_full's `full`.
      error(
        "sema.not-constant", "the 'full' argument of ptep_get_and_clear_full must be a constant",
        args[1].range,
        hint:
          "0 (an atomic get-and-clear) or 1 (full-mm teardown: a plain read, then a plain clear)"
      )
      return nil
    }
    switch op {
    case .multicallUpdate, .multicallIssue, .hypercallUpdate:
      // arm64's spellings of the same buffer: stores the walker sees only after a dsb.
      if ["__set_pte_nosync", "dsb_ishst"].contains(entry.name) {
        if ast.mode?.text != "shadow" {
          error(
            "sema.needs-mode",
            "'\(fn.text)' is arm64's deferred walker visibility: it needs 'mode shadow'",
            fn.range,
            hint: "in 'mode shadow' software sees its store at once, the walker after the dsb")
        }
      } else if ast.mode?.text != "direct" {
        error(
          "sema.needs-mode", "'\(fn.text)' is a Xen PV hypercall: it needs 'mode direct'",
          fn.range, hint: "the multicall buffer exists only under a paravirtual hypervisor")
      }
    case .mmget, .mmput:
      if ast.mm == nil {
        error(
          "sema.mm-not-tracked", "'\(fn.text)' needs an 'mm' declaration", fn.range,
          hint: "add 'mm cpu0, ...' naming the CPUs that run the mm")
      }
    default: break
    }
    return op
  }

  // MARK: Expressions

  /// Longest postfix code of one expression, and the deepest evaluation stack it may use
  /// (the evaluator's stack lives on the machine stack, so its size is fixed).
  static let maxExpressionOps = 1024
  static let maxExpressionStack = 64

  /// Compiles an expression to postfix code, or reports why it cannot.
  mutating func expression(_ e: Expr, registers: [String: Int]) -> [ExprOp]? {
    var code: [ExprOp] = []
    guard emit(e, registers, &code) else { return nil }
    guard code.count <= Sema.maxExpressionOps, Sema.stackDepth(code) <= Sema.maxExpressionStack
    else {
      error(
        "sema.expression-too-complex", "expression too complex", e.range,
        hint:
          "at most \(Sema.maxExpressionOps) operations and \(Sema.maxExpressionStack) pending "
          + "values; use registers for parts"
      )
      return nil
    }
    return code
  }

  /// The most values on the evaluation stack at once while running `code`.
  static func stackDepth(_ code: [ExprOp]) -> Int {
    var depth = 0
    var most = 0
    for op in code {
      switch op {
      case .constant, .register, .stateRead: depth += 1
      case .bitNot, .logicalNot, .testBits, .pfnOf, .makePFN: break
      default: depth -= 1
      }
      most = max(most, depth)
    }
    return most
  }

  mutating func emit(_ e: Expr, _ registers: [String: Int], _ code: inout [ExprOp]) -> Bool {
    if let done = emitStateRead(e, &code) { return done }
    switch e {
    case .member(_, _, let r), .index(_, _, let r):
      error(
        "sema.variable-in-expression", "a variable is read by an operation, not in an expression",
        r, hint: "read it into a register first: v = READ_ONCE(current.x), v = this_cpu_read(x)")
      return false
    case .integer(let n, let r):
      guard n <= 255 else {
        error("sema.value-range", "value \(n) does not fit in a PTE (0...255)", r)
        return false
      }
      code.append(.constant(UInt8(n)))
    case .name(let original):
      let n = registers[original.text] != nil ? original : aliased(original)
      if let r = registers[n.text] {
        code.append(.register(UInt8(r)))
      } else if let c = Sema.constants[n.text] {
        code.append(.constant(c))
      } else if let (_, v) = enumValues[n.text] {
        code.append(.constant(UInt8(truncatingIfNeeded: v)))
      } else if let c = cpuIndex[n.text] {
        code.append(.constant(UInt8(c)))
      } else if let v = variableIndex[n.text] {
        let scope = variables[v].scope
        error(
          "sema.variable-in-expression", "'\(n.text)' is a \(scope.rawValue) variable, not a value",
          n.range, hint: scopeHint(variables[v]))
        return false
      } else if pteIndex[n.text] != nil {
        error(
          "sema.pte-as-value", "'\(n.text)' is a PTE, not a value", n.range,
          hint: "read it with ptep_get(\(n.text))")
        return false
      } else {
        var candidates = Array(registers.keys) + Array(Sema.constants.keys)
        candidates.sort()
        let hint = closestName(to: n.text, in: candidates).map { "did you mean '\($0)'?" }
        error(
          "spec.unknown-name", "unknown register or constant '\(n.text)'", n.range,
          hint: hint ?? "declare it with 'var \(n.text)'")
        return false
      }
    case .unary(let op, let x, _):
      guard emit(x, registers, &code) else { return false }
      code.append(op == "~" ? .bitNot : .logicalNot)
    case .binary(let op, let a, let b, _):
      guard emit(a, registers, &code), emit(b, registers, &code) else { return false }
      let table: [String: ExprOp] = [
        "|": .or, "&": .and, "^": .xor, "==": .equal, "!=": .notEqual, "&&": .logicalAnd,
        "||": .logicalOr,
      ]
      guard let o = table[op] else { return false }
      code.append(o)
    case .call(let fn, let args, let range):
      if OperationCatalogue.bySpelling[fn.text] != nil {
        error(
          "sema.op-in-expression",
          "kernel operation '\(fn.text)' must be a statement or the whole right-hand side of an "
            + "assignment",
          range, hint: "assign its result to a register first")
        return false
      }
      guard let arity = Sema.builtins[fn.text] else {
        let hint = closestName(to: fn.text, in: Array(Sema.builtins.keys)).map {
          "did you mean '\($0)'?"
        }
        error("spec.unknown-name", "unknown function '\(fn.text)'", fn.range, hint: hint)
        return false
      }
      guard args.count == arity else {
        error(
          "sema.arity",
          "'\(fn.text)' takes \(arity) argument\(arity == 1 ? "" : "s"), not \(args.count)",
          fn.range)
        return false
      }
      if fn.text == "cpu_bit" {
        var arg: [ExprOp] = []
        guard emit(args[0], registers, &arg) else { return false }
        guard let c = Sema.constantValue(arg), c < 8 else {
          error(
            "sema.not-constant", "'cpu_bit' takes a CPU name (or a constant below 8)",
            args[0].range, hint: "cpu_bit(cpu1) | cpu_bit(cpu2)")
          return false
        }
        code.append(.constant(UInt8(1) << c))
        return true
      }
      if fn.text == "pte_bit" { return emitPTEBit(args[0], &code) }
      for a in args { guard emit(a, registers, &code) else { return false } }
      switch fn.text {
      case "pfn":
        if case .integer(let n, let r) = args[0], n > Int(PTE.maxPFN) {
          error(
            "sema.value-range", "pfn \(n) is out of range", r, hint: "expected 0...\(PTE.maxPFN)")
          return false
        }
        code.append(.makePFN)
      case "pte_present": code.append(.testBits(PTE.presentBit))
      case "pte_write": code.append(.testBits(PTE.writeBit))
      case "pte_dirty": code.append(.testBits(PTE.dirtyBit))
      case "pte_young": code.append(.testBits(PTE.accessedBit))
      case "pte_none": code += [.constant(0), .equal]
      case "pte_pfn": code.append(.pfnOf)
      case "pte_wrprotect": code += [.constant(~PTE.writeBit), .and]
      case "pte_mkwrite": code += [.constant(PTE.writeBit), .or]
      case "pte_mkclean": code += [.constant(~PTE.dirtyBit), .and]
      case "pte_mkdirty": code += [.constant(PTE.dirtyBit), .or]
      case "pte_mkold": code += [.constant(~PTE.accessedBit), .and]
      case "pte_mkyoung": code += [.constant(PTE.accessedBit), .or]
      case "pte_same": code.append(.equal)
      // Which context the code runs in is known per program (functions are inlined).
      case "in_interrupt": code.append(.constant(checkingHandler ? 1 : 0))
      case "in_task": code.append(.constant(checkingHandler ? 0 : 1))
      default: return false
      }
    }
    return true
  }

  /// The value of a constant expression (no registers), evaluated at compile time.
  static func constantValue(_ code: [ExprOp]) -> UInt8? {
    if code.contains(where: { if case .register = $0 { return true } else { return false } }) {
      return nil
    }
    return ExpressionEvaluator.evaluate(code[...], registers: { _ in 0 })
  }
}

/// Cross-calls: `smp_call_function_many(mask, f, wait)` (docs/kernel-mechanisms.md section
/// 8), where `f` is a spec function without parameters. Every CPU a call may target gets a
/// synthetic interrupt-handler context, `cpuN/ipi:f`, whose body is `f` inlined as interrupt
/// code: the call queues it there (its pending bit is the csd lock), the CPU takes it as an
/// interrupt when it has interrupts on, and its last step unlocks the csd
/// (`Lowering`, `Program+Interpreter.swift`). `cpu_bit(c)` builds masks.
extension Sema {
  static let crossCallName = "smp_call_function_many"
  static let onEachCPUName = "on_each_cpu_mask"
  static let crossCallNames: Set<String> = [crossCallName, onEachCPUName]
  /// Contexts in all, the synthetic ones included.
  static let maxContexts = 64

  /// `smp_call_function_many(mask, f, wait)` as a statement: nil (with an error) when its
  /// arguments are wrong.
  mutating func crossCall(_ fn: Name, _ args: [Expr], registers: [String: Int]) -> KernelOp? {
    guard args.count == 3 else {
      error(
        "sema.arity", "'\(fn.text)' takes 3 arguments, not \(args.count)", fn.range,
        hint: "expected \(fn.text)(mask, function, wait)")
      return nil
    }
    guard case .name(let name) = args[1], let f = functions[name.text] else {
      let hint = closestName(to: args[1].text, in: Array(functions.keys)).map {
        "did you mean '\($0)'?"
      }
      error(
        "sema.cross-call-function",
        "the function a cross-call runs must be a function of the spec, not '\(args[1].text)'",
        args[1].range, hint: hint ?? "define it with 'fn name() { ... }' and pass its name")
      return nil
    }
    guard f.parameters.isEmpty else {
      error(
        "sema.cross-call-function",
        "'\(name.text)' takes \(f.parameters.count) parameter"
          + "\(f.parameters.count == 1 ? "" : "s"): a cross-call function takes none",
        name.range, hint: "the kernel's 'info' argument is not modelled: use a variable")
      return nil
    }
    let mask = expression(args[0], registers: registers)
    let waitCode = expression(args[2], registers: registers)
    guard let mask, let waitCode else { return nil }
    guard let wait = Sema.constantValue(waitCode), wait <= 1 else {
      error(
        "sema.bad-wait", "the 'wait' argument of \(fn.text) must be the constant 0 or 1",
        args[2].range, hint: "1: wait until every target has run the function; 0: do not wait")
      return nil
    }
    var index = crossCallFunctions.firstIndex(of: name.text) ?? crossCallFunctions.count
    if index == crossCallFunctions.count {
      crossCallFunctions.append(name.text)
      crossCallTargets.append(0)
    }
    if index > 255 { index = 255 }
    // A constant mask names its targets; any other may target every CPU. The caller's own
    // CPU is never a target, so a context that always runs on one CPU does not target it.
    var targets = Sema.constantValue(mask) ?? 0xFF
    if let c = callerCPU, c < 8 { targets &= ~(UInt8(1) << c) }
    crossCallTargets[index] |= targets
    return .crossCall(mask: mask, function: index, wait: wait != 0)
  }

  /// `on_each_cpu_mask(mask, f, wait)`: the remote calls are queued as by
  /// `smp_call_function_many`, then (if the caller's CPU is in the mask) `f` runs here with
  /// interrupts off, inlined in the caller's code, then the wait (kernel/smp.c's
  /// `smp_call_function_many_cond` with `SCF_RUN_LOCAL`).
  mutating func onEachCPU(
    _ fn: Name, _ args: [Expr], _ range: SourceRange, registers: [String: Int]
  ) -> [CheckedStmt] {
    guard
      case .crossCall(let mask, let index, let wait)? = crossCall(fn, args, registers: registers),
      case .name(let name) = args[1], let f = functions[name.text]
    else { return [] }
    let local: [CheckedStmt] =
      [.op(.irqDisable, dst: nil, range, operation: "local_irq_disable")]
      + inline(f, [], dst: nil, at: range, registers: registers, program: programRegisters)
      + [.op(.irqEnable, dst: nil, range, operation: "local_irq_enable")]
    var out: [CheckedStmt] = [
      .op(
        .crossCall(mask: mask, function: index, wait: false), dst: nil, range, operation: fn.text),
      .ifCallerIn(mask, local),
    ]
    if wait {
      out.append(
        .op(.crossCallWait(mask: mask, function: index), dst: nil, range, operation: fn.text))
    }
    return out
  }

  /// Pass 5d (after the programs and the hooks): one handler context per (function, CPU it
  /// may target). A cross-call function that itself cross-calls adds to the list as it goes.
  mutating func checkCrossCalls(_ spec: inout CheckedSpec) {
    var j = 0
    while j < crossCallFunctions.count {
      guard let f = functions[crossCallFunctions[j]] else { break }
      let calls = interruptBody([.call(f.name, [], f.name.range)], at: f.name.range)
      for t in spec.cpuNames.indices where crossCallTargets[j] & (1 << t) != 0 {
        guard spec.cpus.count < Sema.maxContexts else {
          error(
            "sema.too-many",
            "more than \(Sema.maxContexts) contexts with the cross-call handlers (one per "
              + "function and CPU it may target)", f.name.range,
            hint: "give smp_call_function_many a constant mask: cpu_bit(cpu1) | cpu_bit(cpu2)")
          return
        }
        var registers: [String: Int] = [:]
        var order: [String] = []
        addFunctionRegisters(calls, &registers, &order)
        programRegisters = registers
        checkingHandler = true
        callerCPU = t
        let body = statements(calls, registers: [:], loopDepth: 0)
        callerCPU = nil
        checkingHandler = false
        var boolean = Set(0..<order.count)
        markNonBoolean(body, &boolean)
        var cpu = CheckedCPU(
          name: "\(spec.cpuNames[t])/ipi:\(f.name.text)", registers: order,
          booleanRegisters: boolean, body: body, range: f.name.range)
        cpu.handlerCPU = t
        cpu.crossCallFunction = j
        let kinds = registerKinds(calls, registers)
        cpu.enumRegisters = kinds.enums
        cpu.numberRegisters = kinds.numbers.subtracting(boolean)
        spec.cpus.append(cpu)
        spec.taskInstance.append(nil)
      }
      j += 1
    }
    spec.crossCallFunctions = crossCallFunctions
  }
}

extension Expr {
  /// The source text of a name argument, or a placeholder for any other expression.
  fileprivate var text: String {
    if case .name(let n) = self { return n.text }
    return "an expression"
  }
}

extension Sema {
  /// `pte_bit(p)`: `1 << i` for the spec's PTE number i, a set of one PTE for
  /// `local_flush_tlb_pages` and `flush_tlb_pages` (a batch of pending addresses, as sparc64's
  /// `tlb_batch.vaddrs[]`). `p` is a PTE name, or a function's by-name parameter for one.
  /// Values are 8-bit, so only the first 8 PTEs have a bit.
  mutating func emitPTEBit(_ arg: Expr, _ code: inout [ExprOp]) -> Bool {
    guard case .name(let n) = arg else {
      error("sema.expected-name", "'pte_bit' takes a PTE name", arg.range)
      return false
    }
    guard let p = resolve(n, in: pteIndex, "PTE") else { return false }
    guard p < 8 else {
      error(
        "sema.value-range",
        "'pte_bit(\(aliased(n).text))': PTE number \(p + 1) has no bit, values are 8-bit",
        arg.range, hint: "declare the PTEs a batch names among the first 8")
      return false
    }
    code.append(.constant(UInt8(1) << p))
    return true
  }
}

/// Context-switch hooks written in the spec: `fn arch_start_context_switch(prev)` and
/// `fn arch_end_context_switch(next)` (docs/kernel-mechanisms.md section 1). When a spec
/// defines one, every CPU that runs tasks gets a synthetic context, `cpuN/sched`, whose body
/// is the inlined start hook, then the inlined end hook: the scheduler's switch only starts
/// it, its steps run the hooks on that CPU, and its last step ends the switch
/// (`Lowering`, `Program+Interpreter.swift`). In a hook's own body the parameter names the
/// task switched from or to (`set_ti_thread_flag(prev, F)`, `READ_ONCE(next.f)`); `current`
/// is `prev` in both hooks, as in x86's `__switch_to`.
extension Sema {
  static let irqEnterHook = "irq_enter"
  static let irqExitHook = "irq_exit"

  /// An interrupt handler's code (a spec's `interrupt`, or a cross-call function on its
  /// target): what the kernel runs around it. x86's `DEFINE_IDTENTRY_IRQ` and
  /// `DEFINE_IDTENTRY_SYSVEC` call the handler between `irq_enter_rcu()` and
  /// `irq_exit_rcu()` (arch/x86/include/asm/idtentry.h, irq_stack.h); a spec that defines
  /// `fn irq_enter()` or `fn irq_exit()` has them run there, in the handler's context.
  func interruptBody(_ body: [Stmt], at range: SourceRange) -> [Stmt] {
    let enter: [Stmt] =
      functions[Sema.irqEnterHook] == nil
      ? [] : [.call(Name(text: Sema.irqEnterHook, range: range), [], range)]
    let exit: [Stmt] =
      functions[Sema.irqExitHook] == nil
      ? [] : [.call(Name(text: Sema.irqExitHook, range: range), [], range)]
    return enter + body + exit
  }

  static let startHook = "arch_start_context_switch"
  static let endHook = "arch_end_context_switch"
  static let hookNames: Set<String> = [startHook, endHook]
  static let taskHint =
    "a task other than 'current' is named only by the parameter of "
    + "arch_start_context_switch(prev) or arch_end_context_switch(next), in its own body"

  /// Pass 5c (after the programs): the hooks' shape, and one switcher context per CPU
  /// without a pinned program when the spec has tasks.
  mutating func checkSwitchHooks(_ spec: inout CheckedSpec) {
    let hooks = [Sema.startHook, Sema.endHook].compactMap { functions[$0] }
    guard !hooks.isEmpty else { return }
    var ok = true
    for f in hooks where f.parameters.count != 1 {
      let role = f.name.text == Sema.startHook ? "prev" : "next"
      error(
        "sema.arity",
        "'\(f.name.text)' takes one parameter (the task switched "
          + "\(role == "prev" ? "from" : "to")), not \(f.parameters.count)", f.name.range,
        hint: "fn \(f.name.text)(\(role))")
      ok = false
    }
    if ast.contextSwitchHooks {
      error(
        "sema.hook-conflict",
        "'\(hooks[0].name.text)' and 'context_switch_hooks' both define what a context switch "
          + "does", hooks[0].name.range,
        hint: "'context_switch_hooks' is the built-in Xen behaviour: write it as these hooks, "
          + "or drop them")
      ok = false
    }
    guard ok else { return }
    spec.definesSwitchHooks = true
    guard spec.cpus.contains(where: { $0.pinnedCPU == nil && $0.handlerCPU == nil }) else {
      return  // no tasks: the scheduler never switches
    }
    let calls: [Stmt] = hooks.map { .call($0.name, [], $0.name.range) }
    let bare = spec.cpuNames.indices.filter { c in !spec.cpus.contains { $0.pinnedCPU == c } }
    for c in bare {
      let name = spec.cpuNames[c]
      var registers: [String: Int] = [:]
      var order: [String] = []
      addFunctionRegisters(calls, &registers, &order)
      programRegisters = registers
      checkingHandler = false
      var body: [CheckedStmt] = []
      for f in hooks {
        body += hookBody(f, f.name.text == Sema.startHook ? .switchPrev : .switchNext)
      }
      var boolean = Set(0..<order.count)
      markNonBoolean(body, &boolean)
      var cpu = CheckedCPU(
        name: "\(name)/sched", registers: order, booleanRegisters: boolean, body: body,
        range: hooks[0].name.range)
      cpu.switcherCPU = c
      let kinds = registerKinds(calls, registers)
      cpu.enumRegisters = kinds.enums
      cpu.numberRegisters = kinds.numbers.subtracting(boolean)
      spec.cpus.append(cpu)
      spec.taskInstance.append(nil)
    }
  }

  /// A hook's body, inlined as a call from the scheduler: its parameter names `instance`
  /// (it is not a register), `current` is the switch's `prev`.
  private mutating func hookBody(_ f: FunctionDecl, _ instance: VariableInstance)
    -> [CheckedStmt]
  {
    let name = f.name.text
    var own: [String: Int] = [:]
    for (qualified, r) in programRegisters where qualified.hasPrefix(name + ":") {
      own[String(qualified.dropFirst(name.count + 1))] = r
    }
    guard let result = own["return"], let parameter = f.parameters.first else { return [] }
    own["return"] = nil
    own[parameter.text] = nil
    callStack.append(name)
    returnRegisters.append(result)
    hookTask = (parameter.text, instance)
    let body = statements(f.body, registers: own, loopDepth: 0)
    hookTask = nil
    returnRegisters.removeLast()
    callStack.removeLast()
    return [.inlined(body, name: name, call: f.name.range)]
  }
}

import PTState

/// The kernel state a spec declares, and how code names it: `enum`s, `global`, `percpu` and
/// `pertask` variables, the variable arguments of the access operations (`this_cpu_read(x)`,
/// `READ_ONCE(current.f)`, `per_cpu(x, cpu)`, `set_ti_thread_flag(current, F)`), and the
/// `invariant`s over it.
extension Sema {
  /// Pass 2b (after the programs are declared): enums, variables, and the task instance
  /// each program's `pertask` variables live in.
  mutating func declareKernelState(_ contexts: [CPUDecl], _ spec: inout CheckedSpec) {
    // Enum tags have a namespace of their own, as in C: `DEFINE_PER_CPU(enum xen_lazy_mode,
    // xen_lazy_mode)` names a type and a variable alike.
    var tags: [String: SourceRange] = [:]
    for e in ast.enums {
      if let first = tags[e.name.text] {
        error(
          "sema.duplicate-name", "enum '\(e.name.text)' is already declared", e.name.range,
          notes: [.init(range: first, message: "first declared here")])
        continue
      }
      tags[e.name.text] = e.name.range
      var names: [String] = []
      for c in e.cases where declare(c, "enum value") {
        enumValues[c.text] = (e.name.text, names.count)
        names.append(c.text)
      }
      if names.count > SpecLimits.enumValues {
        error(
          "sema.too-many", "more than \(SpecLimits.enumValues) values in enum '\(e.name.text)'",
          e.cases[SpecLimits.enumValues].range)
      }
      spec.enums[e.name.text] = names
    }
    for d in ast.variables where declare(d.name, "variable") {
      if let v = checkVariable(d, spec) {
        variableIndex[d.name.text] = spec.variables.count
        spec.variables.append(v)
      }
    }
    if spec.variables.count > SpecLimits.variables {
      error(
        "sema.too-many", "more than \(SpecLimits.variables) variables",
        ast.variables[SpecLimits.variables].name.range)
    }
    var next = 0
    for (k, d) in contexts.enumerated() {
      programIndex[d.name.text] = k
      if d.kind == .interrupt {
        spec.taskInstance.append(nil)
      } else {
        spec.taskInstance.append(next)
        next += 1
      }
    }
    variables = spec.variables
  }

  private mutating func checkVariable(_ d: VariableDecl, _ spec: CheckedSpec) -> CheckedVariable? {
    guard let scope = VariableScope(rawValue: d.scope.text) else { return nil }
    var v = CheckedVariable(
      name: d.name.text, scope: scope, low: 0, high: 1, elements: 1, initial: 0, enumName: nil,
      isBool: false, range: d.name.range)
    switch d.type {
    case .bool:
      v.isBool = true
    case .range(let low, let high, let r):
      guard low >= 0, high <= SpecLimits.variableMax, low <= high else {
        error(
          "sema.bad-range", "the range \(low)..\(high) is not within 0..\(SpecLimits.variableMax)",
          r, hint: "a variable holds a small number: lo..hi with 0 <= lo <= hi <= 255")
        return nil
      }
      (v.low, v.high) = (low, high)
    case .named(let n):
      guard let cases = spec.enums[n.text] else {
        let hint = closestName(to: n.text, in: Array(spec.enums.keys)).map {
          "did you mean '\($0)'?"
        }
        error(
          "spec.unknown-name", "unknown type '\(n.text)'", n.range,
          hint: hint ?? "expected 'bool', a range 'lo..hi', or an enum declared before it")
        return nil
      }
      (v.high, v.enumName) = (max(cases.count - 1, 0), n.text)
    }
    if let (n, r) = d.elements {
      guard SpecLimits.variableElements.contains(n) else {
        error(
          "sema.bad-array", "an array of \(n) elements", r,
          hint: "expected \(SpecLimits.variableElements.lowerBound)..."
            + "\(SpecLimits.variableElements.upperBound) elements")
        return nil
      }
      v.elements = n
    }
    v.initial = v.low
    if let e = d.initial {
      guard let code = expression(e, registers: [:]), let value = Sema.constantValue(code) else {
        error("sema.not-constant", "the initial value must be a constant", e.range)
        return nil
      }
      guard (v.low...v.high).contains(Int(value)) else {
        error(
          "sema.value-range", "initial value \(value) is outside \(v.low)..\(v.high)", e.range)
        return nil
      }
      v.initial = Int(value)
    }
    return v
  }

  /// The variable a `variable` argument names, with its copy, for an operation of `style`
  /// (`cpu`: the CPU argument of `per_cpu`).
  mutating func variableRef(
    _ arg: Expr, style: OperationEntry.VariableStyle, cpu: [ExprOp]?,
    task: VariableInstance = .current, registers: [String: Int]
  ) -> VariableRef? {
    var base = arg
    var index: [ExprOp]?
    if case .index(let b, let i, _) = arg {
      guard let code = expression(i, registers: registers) else { return nil }
      (base, index) = (b, code)
    }
    let name: Name
    var ofCurrent = false
    var member = VariableInstance.current
    switch base {
    case .name(let n):
      name = aliased(n)
    case .member(.name(let t), let field, _):
      let field = aliased(field)
      if let h = hookTask, t.text == h.name {
        member = h.instance
      } else if t.text != "current" {
        error(
          "sema.expected-current", "a task's variable is reached through 'current' here", t.range,
          hint: "write 'current.\(field.text)'; " + Sema.taskHint)
        return nil
      }
      (name, ofCurrent) = (field, true)
    default:
      error(
        "sema.expected-variable", "expected a variable ('x', 'x[i]' or 'current.x')", arg.range)
      return nil
    }
    guard let v = variableIndex[name.text] else {
      let hint = closestName(to: name.text, in: Array(variableIndex.keys)).map {
        "did you mean '\($0)'?"
      }
      error(
        "spec.unknown-name", "unknown variable '\(name.text)'", name.range,
        hint: hint ?? "declare it with 'global', 'percpu' or 'pertask'")
      return nil
    }
    let variable = variables[v]
    if variable.elements > 1, index == nil {
      error(
        "sema.needs-index", "'\(name.text)' is an array of \(variable.elements): give an element",
        name.range, hint: "write '\(name.text)[i]'")
      return nil
    }
    if variable.elements == 1, index != nil {
      error("sema.not-array", "'\(name.text)' is not an array", arg.range)
      return nil
    }
    let instance: VariableInstance
    switch (style, variable.scope) {
    case (.thisCPU, .percpu): instance = .thisCPU
    case (.perCPU, .percpu): instance = .cpu(cpu ?? [.constant(0)])
    case (.plain, .global) where !ofCurrent: instance = .global
    case (.plain, .pertask) where ofCurrent: instance = member
    case (.taskFlag, .pertask) where !ofCurrent: instance = task
    default:
      error(
        "sema.variable-scope", scopeMessage(variable, style), name.range,
        hint: scopeHint(variable))
      return nil
    }
    return VariableRef(variable: v, instance: instance, index: index)
  }

  private func scopeMessage(_ v: CheckedVariable, _ style: OperationEntry.VariableStyle)
    -> String
  {
    let what: String
    switch style {
    case .thisCPU, .perCPU: what = "a percpu variable"
    case .plain: what = "a global variable or 'current.<pertask variable>'"
    case .taskFlag: what = "a pertask flag"
    }
    return "'\(v.name)' is a \(v.scope.rawValue) variable, but this operation takes \(what)"
  }

  func scopeHint(_ v: CheckedVariable) -> String {
    switch v.scope {
    case .global: return "read it with READ_ONCE(\(v.name)), write it with WRITE_ONCE"
    case .percpu:
      return "read it with this_cpu_read(\(v.name)) or per_cpu(\(v.name), cpu), "
        + "write it with this_cpu_write"
    case .pertask:
      return "read it with READ_ONCE(current.\(v.name)), or as a flag with "
        + "test_ti_thread_flag(current, \(v.name))"
    }
  }

  /// The last pass: each `invariant NAME: expr`, over variables (a global by name, another
  /// CPU's copy as `per_cpu(x, cpu1)`, a task's as `t0.x`, an element as `x[2]`) and PTEs
  /// (their value in memory).
  mutating func checkInvariants(_ spec: inout CheckedSpec) {
    for d in ast.invariants where declare(d.name, "invariant") {
      invariantReads = []
      defer { invariantReads = nil }
      guard let code = expression(d.expr, registers: [:]) else { continue }
      spec.invariants.append(
        CheckedInvariant(
          name: d.name.text, code: code, reads: invariantReads ?? [], range: d.name.range,
          text: ""))
    }
  }

  /// In an invariant: a name, member, element or `per_cpu` call that reads the state, as
  /// the next `.stateRead`; nil when `e` is not one (the caller goes on as usual).
  mutating func emitStateRead(_ e: Expr, _ code: inout [ExprOp]) -> Bool? {
    guard invariantReads != nil else { return nil }
    var read: StateRead?
    switch e {
    case .name(let n):
      if let p = pteIndex[n.text] {
        read = .pte(p)
      } else if let v = variableIndex[n.text] {
        guard variables[v].elements == 1 else {
          error("sema.needs-index", "'\(n.text)' is an array: give an element", n.range)
          return false
        }
        guard variables[v].scope == .global else {
          error(
            "sema.variable-scope", "'\(n.text)' is \(variables[v].scope.rawValue): name a copy",
            n.range, hint: "per_cpu(\(n.text), cpu0), or t.\(n.text) for a task t")
          return false
        }
        read = .variable(v, .global, element: 0)
      } else {
        return nil
      }
    case .member, .index:
      guard let r = stateRead(e) else { return false }
      read = r
    case .call(let fn, _, _) where fn.text == "per_cpu":
      guard let r = stateRead(e) else { return false }
      read = r
    default:
      return nil
    }
    guard let read, var reads = invariantReads else { return false }
    guard reads.count < SpecLimits.invariantReads else {
      error(
        "sema.expression-too-complex",
        "an invariant reads more than "
          + "\(SpecLimits.invariantReads) fields", e.range)
      return false
    }
    let i = reads.firstIndex(of: read) ?? reads.count
    if i == reads.count { reads.append(read) }
    invariantReads = reads
    code.append(.stateRead(UInt8(i)))
    return true
  }

  /// `t.x`, `x[2]`, `per_cpu(x, cpu1)`, `per_cpu(x, cpu1)` of an array as `per_cpu(x[2],
  /// cpu1)`: the copy and element they name (constants only: an invariant has no registers).
  private mutating func stateRead(_ e: Expr) -> StateRead? {
    var base = e
    var element = 0
    var instance: VariableInstance?
    if case .call(let fn, let args, let r) = e {
      guard args.count == 2, case .name(let c) = args[1], let cpu = cpuIndex[c.text] else {
        error(
          "sema.expected-name", "in an invariant, per_cpu takes a variable and a CPU name", r,
          hint: "per_cpu(x, cpu0)")
        return nil
      }
      _ = fn
      (base, instance) = (args[0], .namedCPU(cpu))
    }
    if case .index(let b, let i, let r) = base {
      guard let code = expression(i, registers: [:]), let n = Sema.constantValue(code) else {
        error("sema.not-constant", "in an invariant, an element must be a constant", r)
        return nil
      }
      (base, element) = (b, Int(n))
    }
    var name: Name
    switch base {
    case .name(let n):
      name = n
    case .member(.name(let t), let field, _):
      guard let k = programIndex[t.text] else {
        error("spec.unknown-name", "unknown task '\(t.text)'", t.range)
        return nil
      }
      guard let task = taskInstanceOf(k) else {
        error(
          "sema.no-task", "'\(t.text)' is an interrupt handler, which has no task_struct",
          t.range)
        return nil
      }
      (name, instance) = (field, .task(task))
    default:
      error("sema.expected-variable", "expected a variable", base.range)
      return nil
    }
    guard let v = variableIndex[name.text] else {
      error("spec.unknown-name", "unknown variable '\(name.text)'", name.range)
      return nil
    }
    let variable = variables[v]
    guard element < variable.elements else {
      error(
        "sema.value-range",
        "element \(element) of '\(name.text)', which has "
          + "\(variable.elements)", e.range)
      return nil
    }
    switch (variable.scope, instance) {
    case (.global, nil): return .variable(v, .global, element: element)
    case (.percpu, .namedCPU?), (.pertask, .task?):
      return .variable(v, instance ?? .global, element: element)
    default:
      error(
        "sema.variable-scope",
        "'\(name.text)' is \(variable.scope.rawValue): this names the wrong kind of copy",
        e.range, hint: "per_cpu(x, cpu0) for percpu, t.x for pertask, x for global")
      return nil
    }
  }

  private func taskInstanceOf(_ program: Int) -> Int? {
    var next = 0
    for (k, d) in programDecls.enumerated() {
      if d.kind == .interrupt { continue }
      if k == program { return next }
      next += 1
    }
    return nil
  }

  /// How traces print registers: those that only ever hold values of one enum (read from a
  /// variable of that enum, or given its values by name, also as a function's argument) by
  /// the value's name, and those that only ever hold numbers (integer literals, pfns, CPU
  /// ids, counters read from variables) as numbers. `registers` is the program's (a
  /// function's own as `f:name`).
  func registerKinds(_ body: [Stmt], _ registers: [String: Int])
    -> (enums: [Int: String], numbers: Set<Int>)
  {
    var kind: [Int: String?] = [:]  // .some(nil): assigned something else
    // An enum's name; "#" for a number (a literal, a pfn, a CPU id, a counter's value).
    // A register's kind where it is known (a value copied from it has the same kind).
    func known(_ r: Int?) -> String? { r.flatMap { kind[$0] ?? nil } }
    func enumOf(_ e: Expr, in function: String? = nil) -> String? {
      switch e {
      case .name(let n):
        if let value = enumValues[n.text] { return value.enumName }
        return known(registers[function.map { "\($0):\(n.text)" } ?? n.text])
      case .integer: return "#"
      case .call(let fn, let args, _):
        if fn.text == "pte_pfn" || fn.text == "smp_processor_id"
          || fn.text == "raw_smp_processor_id" || fn.text == "irqs_disabled"
        {
          return "#"
        }
        guard OperationCatalogue.bySpelling[fn.text]?.arguments.first == .variable,
          let first = args.first
        else { return nil }
        var base = first
        if case .index(let b, _, _) = base { base = b }
        if case .member(_, let f, _) = base { base = .name(f) }
        guard case .name(let n) = base, let v = variableIndex[n.text] else { return nil }
        if variables[v].isBool { return nil }
        return variables[v].enumName ?? "#"
      default: return nil
      }
    }
    func note(_ r: Int?, _ e: String?) {
      guard let r else { return }
      if let previous = kind[r] {
        if previous != e { kind[r] = .some(nil) }
      } else {
        kind[r] = .some(e)
      }
    }
    var walked = Set<String>()
    func walk(_ body: [Stmt], in function: String?) {
      func register(_ name: String) -> Int? {
        registers[function.map { "\($0):\(name)" } ?? name]
      }
      func call(_ fn: Name, _ args: [Expr]) {
        guard let f = functions[fn.text] else { return }
        for (p, arg) in zip(f.parameters, args) {
          note(registers["\(f.name.text):\(p.text)"], enumOf(arg))
        }
        if walked.insert(f.name.text).inserted { walk(f.body, in: f.name.text) }
      }
      for s in body {
        switch s {
        case .varDecl(let decls):
          for (name, initial) in decls {
            guard let initial else { continue }
            note(register(name.text), enumOf(initial, in: function))
          }
        case .assign(let name, let value, _):
          if case .call(let fn, let args, _) = value, functions[fn.text] != nil {
            call(fn, args)  // its body first: then its return value's kind is known
            note(register(name.text), known(registers["\(fn.text):return"]))
          } else {
            note(register(name.text), enumOf(value, in: function))
          }
        case .call(let fn, let args, _): call(fn, args)
        case .returnStmt(let e?, _):
          if let function { note(registers["\(function):return"], enumOf(e, in: function)) }
        case .ifElse(_, let a, let b, _):
          walk(a, in: function)
          walk(b ?? [], in: function)
        case .repeatN(_, let b, _), .loop(let b, _), .atomic(let b, _): walk(b, in: function)
        case .either(let bs, _): for b in bs { walk(b, in: function) }
        case .breakLoop, .returnStmt: break
        }
      }
    }
    walk(body, in: nil)
    var enums: [Int: String] = [:]
    var numbers = Set<Int>()
    for (r, e) in kind {
      if e == "#" { numbers.insert(r) } else if let e { enums[r] = e }
    }
    return (enums, numbers)
  }
}

/// Functions: `fn name(params) { ... }`, called from programs and other functions, with
/// `return` and `return e`. A call is inlined (no recursion, so every call has a fixed
/// body): the arguments are assigned to the function's parameters, its body runs, and
/// `x = f(...)` reads its return register. Each program that calls a function gets that
/// function's registers once (`f:param`, `f:local`, `f:return`: a colon is not in any
/// name a spec can write), shared by its calls, which never overlap. Traces show the call
/// chain of a step (`Lowering` records it per instruction).
extension Sema {
  /// The deepest chain of calls a program may make.
  static let maxCallDepth = 16

  /// Pass 5b (before the programs): each function's own errors, once, whether or not it is
  /// called (a call reports again only what depends on the call).
  /// A function the spec's own file defines replaces a library function of that name (the
  /// kernel's `__weak` pattern): a spec can change one function of a backend and include
  /// the rest. Two definitions in the same place (the spec, or the library) are an error.
  mutating func declareFunctions() {
    for f in ast.functions {
      if let existing = functions[f.name.text] {
        let specOverridesLibrary =
          existing.name.range.start.file == 0 && f.name.range.start.file != 0
        if !specOverridesLibrary {
          error(
            "sema.duplicate-name", "function '\(f.name.text)' is defined twice", f.name.range)
        }
        continue
      }
      if declared[f.name.text] != nil || Sema.constants[f.name.text] != nil
        || Sema.builtins[f.name.text] != nil || Sema.crossCallNames.contains(f.name.text)
      {
        error(
          "sema.reserved-name", "'\(f.name.text)' already names something else", f.name.range)
        continue
      }
      functions[f.name.text] = f
    }
  }

  /// The functions `body` calls, directly or through other functions, in first-call order.
  func calledFunctions(_ body: [Stmt]) -> [FunctionDecl] {
    var seen: [String] = []
    func visit(_ body: [Stmt]) {
      for s in body {
        var calls: [Name] = []
        switch s {
        case .call(let fn, let args, _) where fn.text == Sema.onEachCPUName:
          // on_each_cpu_mask also runs its function in the caller's own code.
          if args.count == 3, case .name(let f) = args[1] { calls.append(f) }
        case .call(let fn, _, _): calls.append(fn)
        case .assign(_, .call(let fn, _, _), _), .returnStmt(.call(let fn, _, _)?, _):
          calls.append(fn)
        case .ifElse(_, let a, let b, _):
          visit(a)
          visit(b ?? [])
        case .repeatN(_, let b, _), .loop(let b, _), .atomic(let b, _): visit(b)
        case .either(let bs, _): bs.forEach(visit)
        default: break
        }
        for fn in calls where !seen.contains(fn.text) {
          guard let f = functions[fn.text] else { continue }
          seen.append(fn.text)
          visit(f.body)
        }
      }
    }
    visit(body)
    return seen.compactMap { functions[$0] }
  }

  /// Adds the registers of every function `body` calls to a program's registers.
  mutating func addFunctionRegisters(
    _ body: [Stmt], _ registers: inout [String: Int], _ order: inout [String]
  ) {
    for f in calledFunctions(body) {
      var own: [String: Int] = [:]
      var names: [String] = []
      for p in f.parameters where own[p.text] == nil {
        own[p.text] = names.count
        names.append(p.text)
      }
      collectRegisters(f.body, &own, &names)
      for name in names + ["return"] {
        let qualified = "\(f.name.text):\(name)"
        guard registers[qualified] == nil else { continue }
        if order.count >= SpecLimits.registers {
          error(
            "sema.too-many",
            "more than \(SpecLimits.registers) registers with those of the functions called",
            f.name.range)
          return
        }
        registers[qualified] = order.count
        order.append(qualified)
      }
    }
  }

  /// A call of function `f` from code whose registers are `registers`: the arguments into
  /// the parameters, the inlined body, and the result into `dst`.
  mutating func inline(
    _ f: FunctionDecl, _ args: [Expr], dst: Int?, at range: SourceRange,
    registers: [String: Int], program: [String: Int]
  ) -> [CheckedStmt] {
    let name = f.name.text
    if Sema.hookNames.contains(name) {
      error(
        "sema.hook-call", "'\(name)' is called by the scheduler, not by the spec's code", range,
        hint: "it runs inside every context switch of a CPU that runs tasks")
      return []
    }
    if let cycle = callStack.firstIndex(of: name) {
      let chain = (callStack[cycle...] + [name]).joined(separator: " -> ")
      error(
        "sema.recursion", "'\(name)' calls itself (\(chain))", range,
        hint: "functions are inlined: write the repetition as a loop")
      return []
    }
    guard callStack.count < Sema.maxCallDepth else {
      error("sema.too-deep", "calls nested more than \(Sema.maxCallDepth) deep", range)
      return []
    }
    guard args.count == f.parameters.count else {
      error(
        "sema.arity",
        "'\(name)' takes \(f.parameters.count) argument\(f.parameters.count == 1 ? "" : "s"), "
          + "not \(args.count)", range,
        hint: "fn \(name)(\(f.parameters.map(\.text).joined(separator: ", ")))")
      return []
    }
    // The function sees its own registers under their plain names.
    var own: [String: Int] = [:]
    for (qualified, r) in program where qualified.hasPrefix(name + ":") {
      own[String(qualified.dropFirst(name.count + 1))] = r
    }
    guard let result = own["return"] else {
      // `addFunctionRegisters` gives every called function its registers: a call it did
      // not see is a checker bug, reported rather than silently dropped.
      error("spec.internal", "the registers of '\(name)' were not allocated", range)
      return []
    }
    own["return"] = nil
    var out: [CheckedStmt] = []
    var aliases: [String: Name] = [:]
    for (p, arg) in zip(f.parameters, args) {
      // A PTE, lock, pgd entry, page or variable is passed by name (the body is inlined,
      // so the parameter simply stands for it); anything else by value.
      if case .name(let n) = arg, registers[n.text] == nil, isDeclaredName(aliased(n)) {
        aliases[p.text] = aliased(n)
        own[p.text] = nil
        continue
      }
      if let r = own[p.text], let code = expression(arg, registers: registers) {
        out.append(.assign(r, code))
      }
    }
    callStack.append(name)
    returnRegisters.append(result)
    let hook = hookTask
    hookTask = nil  // a hook's parameter names a task only in the hook's own body
    nameAliases.append(aliases)
    let body = statements(f.body, registers: own, loopDepth: 0)
    nameAliases.removeLast()
    hookTask = hook
    returnRegisters.removeLast()
    callStack.removeLast()
    out.append(.inlined(body, name: name, call: range))
    if let dst { out.append(.assign(dst, [.register(UInt8(result))])) }
    return out
  }

  /// `return` or `return e`.
  mutating func returnStatement(_ e: Expr?, _ range: SourceRange, registers: [String: Int])
    -> [CheckedStmt]
  {
    guard let result = returnRegisters.last else {
      error("sema.return-outside-function", "'return' outside a function", range)
      return []
    }
    guard let e else { return [.returnCall] }
    // `return f(...)` and `return op(...)`: the call's result goes to the return register.
    if case .call(let fn, _, _) = e,
      functions[fn.text] != nil || OperationCatalogue.bySpelling[fn.text] != nil
    {
      var own = registers
      own["\u{0}return"] = result
      let target = Name(text: "\u{0}return", range: range)
      return statements([.assign(target, e, range)], registers: own, loopDepth: 0) + [.returnCall]
    }
    guard let code = expression(e, registers: registers) else { return [] }
    return [.assign(result, code), .returnCall]
  }

  /// A parameter bound to a name at this call stands for that name.
  func aliased(_ n: Name) -> Name {
    guard let target = nameAliases.last?[n.text] else { return n }
    return Name(text: target.text, range: n.range)
  }

  /// Whether `n` names something a function can take by name.
  func isDeclaredName(_ n: Name) -> Bool {
    pteIndex[n.text] != nil || lockIndex[n.text] != nil || pgdIndex[n.text] != nil
      || ptPageIndex[n.text] != nil || variableIndex[n.text] != nil
  }
}

import PTState

/// `invariant`: every `invariant NAME: expr` over the declared state (variables, and PTEs
/// by their value in memory) holds in every reachable state, the initial one included,
/// like TLC's INVARIANT. On whenever the spec declares one. Checked after every enabled
/// step (`Program.invariantViolations`), so the counterexample is a shortest run to a
/// state where one is false.
extension PropertyDescriptor {
  static let invariant = PropertyDescriptor(
    kind: .invariant, decision: .onStep, raisedBy: [.invariantBroken],
    help: ["every declared invariant holds in every reachable state"],
    explain: { trace, p in Explanation.invariant(trace, p) })
}

extension Explanation {
  static func invariant(_ trace: Trace, _ p: Program) -> String {
    let state = trace.steps.last?.after ?? trace.initial
    guard let inv = p.invariants.first(where: { !p.holds($0, in: state) }) else {
      return "a declared invariant is false"
    }
    let values = inv.reads.indices.map { r in
      "\(p.readName(inv.reads[r])) = \(p.readText(inv.reads[r], state))"
    }
    let when = trace.steps.isEmpty ? "in the initial state" : "after step \(trace.steps.count)"
    return "invariant \(inv.name) (line \(inv.range.start.line)) is false \(when)"
      + (values.isEmpty ? "" : ": \(values.joined(separator: ", "))")
  }
}

extension Program {
  /// Whether `inv` holds in a decoded state.
  func holds(_ inv: CompiledInvariant, in s: MachineSnapshot) -> Bool {
    let start = Int(inv.code.start)
    let code = expressionCode[start..<(start + Int(inv.code.count))]
    let value = ExpressionEvaluator.evaluate(
      code, registers: { _ in 0 },
      state: { r in UInt8(truncatingIfNeeded: readValue(inv.reads[Int(r)], s)) })
    return value != 0
  }

  func readValue(_ read: StateRead, _ s: MachineSnapshot) -> Int {
    switch read {
    case .pte(let p): return Int(s.mem[p].rawValue)
    case .variable(let v, let instance, let element):
      return s.variables[v][copy(instance) * spec.variables[v].elements + element]
    }
  }

  func readName(_ read: StateRead) -> String {
    switch read {
    case .pte(let p): return spec.pteNames[p]
    case .variable(let v, let instance, let element):
      return KernelStateText.copyName(
        spec, v, field: copy(instance) * spec.variables[v].elements + element)
    }
  }

  func readText(_ read: StateRead, _ s: MachineSnapshot) -> String {
    switch read {
    case .pte(let p): return "\(s.mem[p])"
    case .variable(let v, _, _): return KernelStateText.value(spec, v, readValue(read, s))
    }
  }

  private func copy(_ instance: VariableInstance) -> Int {
    switch instance {
    case .namedCPU(let c), .task(let c): return c
    default: return 0
    }
  }
}

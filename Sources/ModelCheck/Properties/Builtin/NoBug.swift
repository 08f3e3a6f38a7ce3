import PTState

/// `no_bug`: no `BUG_ON(cond)` (or `VM_BUG_ON`) is reached with `cond` true. On whenever a
/// program has one. The test is local; the failing `BUG_ON` is a step of its own at its
/// line, raising `bug` (`Program+Interpreter.swift`), so the counterexample ends there.
extension PropertyDescriptor {
  static let noBug = PropertyDescriptor(
    kind: .noBug, decision: .onStep, raisedBy: [.bug],
    help: ["no BUG_ON(cond) is reached with cond true", "(on when a program has one)"],
    explain: { trace, p in
      Explanation.lastStep(.noBug, trace) {
        Explanation.failedCheck($0, p, "the kernel panics here (BUG)")
      }
    })
}

extension Explanation {
  /// A failed `BUG_ON`, `WARN_ON` or `assert`: who reached it, where, and the values of
  /// the registers its condition reads.
  static func failedCheck(_ step: TraceStep, _ p: Program, _ consequence: String) -> String {
    guard let k = programOf(step) else { return consequence }
    let cpu = p.spec.cpus[k]
    let text = step.location.map { p.spec.sourceText($0) } ?? "the check"
    let names = Set(identifiers(in: text))
    let registers = step.before.contexts[k].registers
    // Inside a function, its own registers (`f:name`) go by their plain names.
    let function = p.callChain(cpu: k, pc: step.before.contexts[k].pc).first?.name
    func plain(_ r: Int) -> String? {
      let name = cpu.registers[r]
      if let function, name.hasPrefix(function + ":") {
        return String(name.dropFirst(function.count + 1))
      }
      return function == nil && !name.contains(":") ? name : nil
    }
    let values = cpu.registers.indices.compactMap { r -> String? in
      guard let name = plain(r), names.contains(name) else { return nil }
      return "\(name) = \(Trace.registerText(cpu, r, registers[r], enums: p.spec.enums))"
    }
    // A pinned program is where it is; a task or handler says which CPU it ran on.
    let ranOn = step.before.contexts[k].cpu.map { " on \(p.spec.cpuNames[$0])" } ?? ""
    let on = cpu.pinnedCPU != nil ? "" : ranOn
    return "\(cpu.name)\(on) reached \(text)\(line(step.location))"
      + (values.isEmpty ? "" : " with \(values.joined(separator: ", "))") + ": \(consequence)"
  }

  /// The identifiers in a line of spec code, in order.
  static func identifiers(in text: String) -> [String] {
    var out: [String] = []
    var current = ""
    for c in text {
      if c.isLetter || c.isNumber || c == "_" {
        current.append(c)
      } else if !current.isEmpty {
        out.append(current)
        current = ""
      }
    }
    if !current.isEmpty { out.append(current) }
    return out
  }
}

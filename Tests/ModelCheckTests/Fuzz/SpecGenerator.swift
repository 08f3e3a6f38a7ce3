@testable import ModelCheck

// Random valid specs over the whole grammar (docs/spec-language.md): every declaration
// kind, tasks, handlers, PAE entries, page-table pages, every kernel operation and control
// statement. Valid by construction: names resolve, locks are taken and released in
// brackets (so the lock check holds), loops start with a kernel operation (so no local
// loop), `repeat` is at most 2 deep with counts up to 3 (deeper nesting hangs the compiler
// today). Each top-level declaration is one item, so that the items can be reordered.

struct SpecGenerator {
  var rng: SplitMix64
  private var mode = "native"
  private var ptes: [String] = []
  private var locks: [String] = []
  private var pgds: [String] = []
  private var pages: [String] = []
  private var tracksMM = false
  private var registers: [String] = []
  /// Kernel operations emitted so far in the current program (its size budget).
  private var budget = 0

  init(rng: SplitMix64) { self.rng = rng }

  /// The top-level items of one spec.
  mutating func generate() -> [String] {
    var items: [String] = []
    mode = rng.pick(["native", "direct", "direct", "shadow"])
    items.append("mode \(mode)")
    if rng.chance(50) { items.append("title \"generated \(rng.below(1000))\"") }
    if rng.chance(30) { items.append("batch_limit \(rng.range(1...4))") }

    // PAE entries and page-table pages.
    pgds = rng.chance(20) ? (0..<rng.range(1...2)).map { "g\($0)" } : []
    for g in pgds { items.append("pgd \(g) = \(rng.pick(["none", "present | pfn(9)", "1"]))") }
    pages = rng.chance(15) ? (0..<rng.range(1...2)).map { "pp\($0)" } : []
    if !pages.isEmpty { items.append("ptpage " + pages.joined(separator: ", ")) }

    // PTEs and the locks that protect them.
    ptes = (0..<rng.range(1...3)).map { "p\($0)" }
    let values = [
      "none", "present | pfn(1)", "present | write | pfn(2)", "present | write | dirty | pfn(3)",
      "present | accessed | pfn(1)", "0x13", "3", "pfn(4) | present | write",
    ]
    for p in ptes {
      var item = "pte \(p) = \(rng.pick(values))"
      if !pgds.isEmpty, rng.chance(60) { item += " under \(rng.pick(pgds))" }
      items.append(item)
    }
    locks = (0..<rng.range(0...2)).map { "l\($0)" }
    var protected: [String: [String]] = [:]
    for x in ptes + pgds where !locks.isEmpty && rng.chance(70) {
      protected[rng.pick(locks), default: []].append(x)
    }
    for l in locks {
      let list = protected[l] ?? []
      items.append(
        list.isEmpty ? "lock \(l)" : "lock \(l) protects " + list.joined(separator: ", "))
    }

    // CPUs, tasks and handlers: at most 4 programs, so the state spaces stay small.
    let pinned = rng.range(1...3)
    let bare = rng.chance(35) ? rng.range(1...2) : 0
    let cpus = (0..<(pinned + bare)).map { "c\($0)" }
    let bareCPUs = Array(cpus.suffix(bare))
    let taskCount = bare > 0 ? rng.range(0...min(2, 4 - pinned)) : 0
    let handlerCount = pinned + taskCount < 4 && rng.chance(25) ? 1 : 0
    let lazyPerTask = rng.chance(15)
    if lazyPerTask {
      items.append("lazy_state per_task")
    } else if rng.chance(10) {
      items.append("lazy_state per_cpu")
    }
    if !lazyPerTask, taskCount > 0, rng.chance(40) { items.append("context_switch_hooks") }
    if rng.chance(15) { items.append("lazy_disables_preemption") }
    if handlerCount > 0, rng.chance(50) { items.append("interrupts_never_lazy") }
    if rng.chance(15) { items.append("track accessed") }
    tracksMM = rng.chance(15)
    if tracksMM {
      let users = cpus.filter { _ in rng.chance(60) }
      items.append(users.isEmpty ? "mm none" : "mm " + users.joined(separator: ", "))
    }
    if rng.chance(45) {
      var accesses: [String] = []
      for _ in 0..<rng.range(1...3) {
        accesses.append("\(rng.pick(["read", "write"])) \(rng.pick(ptes))")
      }
      items.append("hardware \(rng.pick(cpus)): " + accesses.joined(separator: ", "))
    }
    if rng.chance(15) { items.append("tlb \(rng.pick(cpus)): \(rng.pick(ptes))") }

    for c in cpus.prefix(pinned) { items.append("cpu \(c) " + program()) }
    for c in bareCPUs { items.append("cpu \(c)") }
    var free = bareCPUs
    for t in 0..<taskCount {
      var head = "task t\(t)"
      if !free.isEmpty, rng.chance(60) { head += " on \(free.removeFirst())" }
      items.append(head + " " + program())
    }
    for h in 0..<handlerCount { items.append("interrupt h\(h) on \(rng.pick(cpus)) " + program()) }

    // Properties and the expectation.
    var checked: [String] = []
    if rng.chance(75) {
      checked = SpecWords.properties.filter { _ in rng.chance(35) }
      if checked.isEmpty { checked = [rng.pick(SpecWords.properties)] }
      let parts = checked.map { p in
        p == "cmpxchg_terminates" && rng.chance(40) ? "\(p) bound \(rng.range(0...3))" : p
      }
      items.append("check " + parts.joined(separator: ", "))
    } else {
      checked = PropertyKind.defaults.map(\.name)
    }
    let failing = checked.filter { _ in rng.chance(25) }
    items.append(failing.isEmpty ? "expect pass" : "expect fail " + failing.joined(separator: ", "))
    return items
  }

  // MARK: Programs

  private mutating func program() -> String {
    registers = (0..<rng.range(1...3)).map { "r\($0)" }
    budget = rng.range(1...5)
    var decl =
      "var "
      + registers.map { r in rng.chance(20) ? "\(r) = \(atom())" : r }
      .joined(separator: ", ")
    if rng.chance(10) {
      decl = "var \(registers[0])\n  var " + registers.dropFirst().joined(separator: ", ")
    }
    if registers.count == 1 { decl = "var \(registers[0])" }
    var body = [decl]
    body += block(depth: 0, repeatDepth: 0, held: [])
    return "{\n" + body.map { "  " + $0 }.joined(separator: "\n") + "\n}"
  }

  private mutating func block(depth: Int, repeatDepth: Int, held: Set<String>) -> [String] {
    var out: [String] = []
    let count = depth == 0 ? max(budget, 1) : rng.range(1...2)
    for _ in 0..<count where budget > 0 || out.isEmpty {
      out += statement(depth: depth, repeatDepth: repeatDepth, held: held)
    }
    return out
  }

  private func indent(_ lines: [String]) -> [String] { lines.map { "  " + $0 } }

  private mutating func statement(depth: Int, repeatDepth: Int, held: Set<String>) -> [String] {
    let free = locks.filter { !held.contains($0) }
    let roll = depth >= 2 ? 0 : rng.below(100)
    switch roll {
    case 60..<70 where !free.isEmpty:
      let l = rng.pick(free)
      budget -= 1
      return ["spin_lock(\(l))"]
        + indent(block(depth: depth + 1, repeatDepth: repeatDepth, held: held.union([l])))
        + ["spin_unlock(\(l))"]
    case 70..<76:
      var lines =
        ["if \(expr(2)) {"] + indent(block(depth: depth + 1, repeatDepth: repeatDepth, held: held))
      if rng.chance(50) {
        lines +=
          ["} else {"] + indent(block(depth: depth + 1, repeatDepth: repeatDepth, held: held))
      }
      return lines + ["}"]
    case 76..<82:
      budget -= 1
      var lines =
        ["either {"] + indent(block(depth: depth + 1, repeatDepth: repeatDepth, held: held))
      for _ in 0..<rng.range(1...2) {
        lines += ["} or {"] + indent(block(depth: depth + 1, repeatDepth: repeatDepth, held: held))
      }
      return lines + ["}"]
    case 82..<87 where repeatDepth < 2:
      return ["repeat \(rng.range(0...3)) {"]
        + indent(block(depth: depth + 1, repeatDepth: repeatDepth + 1, held: held)) + ["}"]
    case 87..<93:
      return loop(depth: depth, repeatDepth: repeatDepth, held: held)
    case 93..<98:
      return ["\(rng.pick(registers)) = \(expr(2))"]
    case 98:
      budget -= 1
      return ["preempt_disable()"]
        + indent(block(depth: depth + 1, repeatDepth: repeatDepth, held: held))
        + ["preempt_enable()"]
    case 99 where rng.chance(40):
      return runtimeFault(held: held)
    default:
      budget -= 1
      return [operation()]
    }
  }

  /// Code that is valid but fails at run time (exit 2), so that those reports are fuzzed
  /// too: a loop without a kernel operation, an unlock on a path that did not lock, an
  /// enable without a disable.
  private mutating func runtimeFault(held: Set<String>) -> [String] {
    let r = rng.pick(registers)
    switch rng.below(3) {
    case 0:
      return ["loop {", "  \(r) = \(r) ^ 1", "}"]
    case 1 where !locks.filter({ !held.contains($0) }).isEmpty:
      let l = rng.pick(locks.filter { !held.contains($0) })
      return ["if \(r) { spin_lock(\(l)) }", "spin_unlock(\(l))"]
    default:
      return ["preempt_enable()"]
    }
  }

  /// A cmpxchg retry loop, or a loop around kernel operations that breaks on a test.
  private mutating func loop(depth: Int, repeatDepth: Int, held: Set<String>) -> [String] {
    budget -= 2
    if rng.chance(50) {
      let p = rng.pick(ptes)
      let old = registers[0]
      let seen = registers.count > 1 ? registers[1] : registers[0]
      let new = rng.pick([
        "\(old) | dirty", "pte_wrprotect(\(old))", "pte_mkyoung(\(old))",
        "present | pfn(5)", "(\(old) & ~write)",
      ])
      var lines = [
        "\(old) = ptep_get(\(p))", "loop {", "  \(seen) = cmpxchg(\(p), \(old), \(new))",
      ]
      lines += rng.chance(85) ? ["  if \(seen) == \(old) { break }"] : []
      if seen != old { lines.append("  \(old) = \(seen)") }
      return lines + ["}"]
    }
    var lines = ["loop {", "  " + operation()]
    lines += indent(block(depth: depth + 1, repeatDepth: repeatDepth, held: held))
    if rng.chance(90) { lines.append("  if \(expr(1)) { break }") }
    return lines + ["}"]
  }

  private mutating func operation() -> String {
    let p = rng.pick(ptes)
    let r = rng.pick(registers)
    var ops = [
      "set_pte(\(p), \(expr(2)))", "set_pte_at(\(p), \(expr(1)))", "\(r) = ptep_get(\(p))",
      "\(r) = ptep_get(\(p))", "\(r) = ptep_get_and_clear(\(p))", "\(r) = xchg(\(p), \(expr(1)))",
      "\(r) = cmpxchg(\(p), \(expr(1)), \(expr(1)))", "\(r) = ptep_modify_prot_start(\(p))",
      "ptep_modify_prot_commit(\(p), \(expr(2)))", "\(r) = ptep_get_and_clear_full(\(p), 0)",
      "\(r) = ptep_get_and_clear_full(\(p), 1)", "flush_tlb(\(p))", "flush_tlb_page(\(p))",
      "flush_tlb_start(\(p))", "flush_tlb_wait(\(p))", "\(r) = touch(\(p), read)",
      "\(r) = touch(\(p), write)", "touch(\(p), read)", "arch_enter_lazy_mmu_mode()",
      "arch_enter_lazy_mmu_mode()", "arch_leave_lazy_mmu_mode()", "arch_leave_lazy_mmu_mode()",
      "arch_flush_lazy_mmu_mode()", "lazy_mmu_mode_enable()", "lazy_mmu_mode_disable()",
      "lazy_mmu_mode_pause()", "lazy_mmu_mode_resume()", "preempt_disable()", "might_sleep()",
      "local_irq_disable()", "local_irq_enable()", "load_cr3()", "flush_tlb_mm()",
    ]
    if tracksMM { ops += ["mmget()", "\(r) = mmput()", "mmput()"] }
    if let g = pgds.isEmpty ? nil : rng.pick(pgds) {
      ops += [
        "set_pgd(\(g), \(expr(1)))", "pud_populate(\(g), present | pfn(\(rng.below(16))))",
        "\(r) = pgd_get(\(g))",
      ]
    }
    if let pg = pages.isEmpty ? nil : rng.pick(pages) {
      ops += [
        "\(r) = pt_alloc(\(pg))", "\(r) = pmd_alloc(\(pg))", "pt_free(\(pg))", "pmd_free(\(pg))",
        "pt_alloc(\(pg))",
      ]
    }
    return rng.pick(ops)
  }

  // MARK: Expressions

  private mutating func atom() -> String {
    switch rng.below(10) {
    case 0..<3: return rng.pick(registers)
    case 3..<5: return rng.pick(SpecWords.constants)
    case 5: return "0x\(String(rng.below(256), radix: 16))"
    case 6, 7: return "pfn(\(rng.below(16)))"
    default: return String(rng.below(256))
    }
  }

  /// Binary operators are parenthesised: `==` does not chain.
  private mutating func expr(_ depth: Int) -> String {
    if depth == 0 || rng.chance(35) { return atom() }
    switch rng.below(10) {
    case 0..<5:
      let op = rng.pick(["|", "&", "^", "==", "!=", "&&", "||", "|", "&"])
      return "(\(expr(depth - 1)) \(op) \(expr(depth - 1)))"
    case 5, 6:
      return rng.pick(["~", "!"]) + expr(depth - 1)
    case 7:
      return "pte_same(\(expr(depth - 1)), \(expr(depth - 1)))"
    default:
      let unary = SpecWords.builtins.filter {
        Sema.builtins[$0] == 1 && !["pfn", "cpu_bit", "pte_bit"].contains($0)
      }
      return "\(rng.pick(unary))(\(expr(depth - 1)))"
    }
  }
}

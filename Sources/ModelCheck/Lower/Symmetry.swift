import PTState

/// Symmetry reduction, the system's half: which programs are interchangeable.
///
/// Two programs are when each is pinned to a CPU of its own on a machine without tasks or
/// handlers (`Machine.isSimple`), they run the same code (instruction by instruction, with
/// the same expressions, branches, variable accesses and assertions), and their CPUs are set
/// up alike: the same hardware accesses, TLB slots and initial TLB, batch slots, early
/// flush, shootdown IPIs and mm membership. Nothing in the machine names a CPU but through
/// these, so swapping two such programs with their CPUs (`Machine.canonicalize`) maps the
/// reachable states onto themselves and every property's events onto the same events.
///
/// Left out, so that no verdict can depend on which member is which: a spec whose code
/// names a CPU's copy of a variable (`per_cpu(x, cpu1)`) or asks `smp_processor_id()`, an
/// invariant that reads a per-CPU copy, the owner of a cmpxchg retry loop when
/// `cmpxchg_terminates` is checked (its loop's subgraph is per program), and any spec that
/// checks `terminates`.
extension Program {
  static func symmetryGroups(
    code: [Instruction], cpuStart: [Int], machine: Machine, spec: CheckedSpec,
    actions: [Action], expressionCode: [ExprOp], choiceTargets: [UInt32],
    variableAccesses: [VariableAccess], checks: [CheckPoint], loops: [RetryLoop],
    invariants: [CompiledInvariant]
  ) -> SymmetryGroups? {
    let config = machine.config
    let programs = spec.cpus.count
    let pinned = config.pinnedCPU.compactMap { $0 }
    guard machine.isSimple, pinned.count == programs, Set(pinned).count == programs,
      !spec.properties.contains(.terminates)
    else { return nil }
    for a in variableAccesses {
      if case .cpu = a.copy { return nil }
    }
    if code.contains(where: { if case .processorID = $0 { return true } else { return false } }) {
      return nil
    }
    let invariantFields = Set(invariants.flatMap(\.fields))
    for (v, shape) in config.variables.enumerated() where shape.copies != .global {
      if machine.layout.variables[v].contains(where: invariantFields.contains) { return nil }
    }
    // The programs whose cmpxchg is in a retry loop: the loop's subgraph is theirs.
    let loopOwners = Set(
      code.indices.compactMap { i -> Int? in
        guard case .cmpxchg(_, _, _, _, let loop) = code[i], loop > 0 else { return nil }
        return loops[Int(loop) - 1].cpu
      })
    let checksLoops = spec.properties.contains(.cmpxchgTerminates)

    // What must be equal: the code, with every reference replaced by what it refers to.
    func expression(_ e: ExprRef) -> [ExprOp] {
      Array(expressionCode[Int(e.start)..<(Int(e.start) + Int(e.count))])
    }
    func signature(_ k: Int) -> [String] {
      let start = cpuStart[k]
      let end = k + 1 < cpuStart.count ? cpuStart[k + 1] : code.count
      return code[start..<end].map { instr -> String in
        switch instr {
        case .choose(let first, let n):
          let targets = (0..<Int(n)).map { "\(choiceTargets[Int(first) + $0])" }
          return "choose " + targets.joined(separator: ",")
        case .variable(let dst, let a):
          let access = variableAccesses[Int(a)]
          var text = "variable \(dst) \(access.variable) \(access.copy)"
          switch access.kind {
          case .read: text += " read"
          case .write(let e): text += " write \(expression(e))"
          case .add(let n): text += " add \(n)"
          case .exchange(let e): text += " exchange \(expression(e))"
          }
          if let i = access.index { text += " at \(expression(i))" }
          return text
        case .check(let id):
          return "check \(checks[Int(id)].kind)"
        case .cmpxchg(let d, let p, let e, let n, _):
          return "cmpxchg \(d) \(p) \(expression(e)) \(expression(n))"
        default:
          // Every expression operand by its code, in the order the case lists them.
          var operands: [String] = []
          for child in Mirror(reflecting: instr).children {
            if let e = child.value as? ExprRef { operands.append("\(expression(e))") }
            for inner in Mirror(reflecting: child.value).children {
              if let e = inner.value as? ExprRef { operands.append("\(expression(e))") }
            }
          }
          return "\(instr)".replacing(/ExprRef\(start: \d+, count: \d+\)/, with: "e") + " "
            + operands.joined(separator: " ")
        }
      }
    }
    // What the CPU's environment does: its hardware lines (the action table keeps one
    // action for an access every CPU makes alike), and the other actions that are not
    // program steps.
    func environment(_ c: Int) -> Set<String> {
      let hardware = spec.hardware.filter { $0.cpu == c }.map { "hw \($0.pte) \($0.kind)" }
      let others = actions.filter {
        $0.kind != .cpuStep && $0.kind != .hardwareAccess && $0.cpu == c
      }.map { "\($0.kind) \($0.pte) \($0.arg)" }
      return Set(hardware + others)
    }
    func alike(_ k: Int, _ j: Int) -> Bool {
      let (c, d) = (pinned[k], pinned[j])
      let mm = config.initialMMUsers
      return config.registerCount[k] == config.registerCount[j]
        && config.pcLimit[k] == config.pcLimit[j]
        && config.tlbCached[c] == config.tlbCached[d]
        && (config.initialTLB.isEmpty || config.initialTLB[c] == config.initialTLB[d])
        && machine.layout.batchSlots[c] == machine.layout.batchSlots[d]
        && mm?.contains(c) == mm?.contains(d)
        && environment(c) == environment(d)
    }
    var groups: [[Int]] = []
    var signatures: [[String]] = []
    for k in 0..<programs where !(checksLoops && loopOwners.contains(k)) {
      let sig = signature(k)
      if let g = groups.indices.first(where: { signatures[$0] == sig && alike(groups[$0][0], k) }) {
        groups[g].append(k)
      } else {
        groups.append([k])
        signatures.append(sig)
      }
    }
    let members = groups.filter { $0.count > 1 }.map { g in
      g.map { SymmetryGroups.Member(program: $0, cpu: pinned[$0]) }
    }
    return members.isEmpty ? nil : SymmetryGroups(members, machine: machine)
  }

  public var hasSymmetry: Bool { symmetry != nil }

  @inline(__always)
  public func canonicalize(_ s: PackedState) {
    if let symmetry { machine.canonicalize(s, symmetry) }
  }

  /// The first member of process `k`'s group (`k` when it is in none).
  public func symmetryClass(of k: Int) -> Int {
    guard k >= 0, let symmetry else { return k }
    return symmetry.twins(of: k)[0]
  }

  /// The programs interchangeable with `k`, itself included.
  public func twins(of k: Int) -> [Int] { symmetry?.twins(of: k) ?? [k] }
}

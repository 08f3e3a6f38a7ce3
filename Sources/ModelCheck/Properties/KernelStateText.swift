import PTState

/// How reports spell declared kernel state: a variable's value (`true`, `XEN_LAZY_MMU`,
/// `3`) and a copy of it (`nr`, `per_cpu(xen_lazy_mode, cpu0)`, `t0.flags`, `buf[2]`).
enum KernelStateText {
  static func value(_ spec: CheckedSpec, _ v: Int, _ value: Int) -> String {
    let variable = spec.variables[v]
    if variable.isBool { return value != 0 ? "true" : "false" }
    if let e = variable.enumName, let names = spec.enums[e], value < names.count {
      return names[value]
    }
    return "\(value)"
  }

  /// The name of field `i` of variable `v` (copy-major, as in the layout).
  static func copyName(_ spec: CheckedSpec, _ v: Int, field i: Int) -> String {
    let variable = spec.variables[v]
    let (copy, element) = (i / variable.elements, i % variable.elements)
    let name = variable.name + (variable.elements > 1 ? "[\(element)]" : "")
    switch variable.scope {
    case .global: return name
    case .percpu: return "per_cpu(\(name), \(spec.cpuNames[copy]))"
    case .pertask:
      if let program = spec.taskInstance.firstIndex(where: { $0 == copy }) {
        return "\(spec.cpus[program].name).\(name)"
      }
      let idleCPU = copy - spec.taskCount  // the idle tasks' copies follow the tasks'
      let cpu = spec.cpuNames.indices.contains(idleCPU) ? spec.cpuNames[idleCPU] : "?"
      return "idle/\(cpu).\(name)"
    }
  }

  /// What changed in declared state between two snapshots, one entry per field.
  static func changes(_ spec: CheckedSpec, _ a: MachineSnapshot, _ b: MachineSnapshot)
    -> [String]
  {
    var out: [String] = []
    for v in spec.variables.indices where v < a.variables.count && v < b.variables.count {
      for (i, (x, y)) in zip(a.variables[v], b.variables[v]).enumerated() where x != y {
        out.append(
          "\(copyName(spec, v, field: i)): \(value(spec, v, x)) -> \(value(spec, v, y))")
      }
    }
    return out
  }
}

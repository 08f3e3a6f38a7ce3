import PTState

/// How a property is decided (docs/properties.md, "How a run decides").
enum Decision: Sendable {
  /// On a step that raises one of the property's events (`PropertyDescriptor.raisedBy`).
  case onStep
  /// On a state the explorer expands, where nothing can move (a deadlock) or every program
  /// has finished (a final state): `BreadthFirst.run`.
  case onState
  /// After a complete exploration, on the explored graph: the analysis returns the verdict
  /// and the states it searched.
  case onGraph(
    @Sendable (Program, borrowing BreadthFirst<Program>, inout Budget) -> (PropertyResult, Int))
}

/// Everything about one property but its ghost state and the rule that raises its events,
/// which live in PTState: how it is decided, which events violate it, its `--help` text and
/// the sentence that explains a counterexample. One file per property in `Builtin/`.
struct PropertyDescriptor: Sendable {
  let kind: PropertyKind
  let decision: Decision
  /// Events that violate the property on the step that raises them.
  let raisedBy: Events
  /// The `--help` text, wrapped to fit beside the name (lines of at most 60 columns).
  let help: [String]
  /// The `why:` sentence of a counterexample (its trace, replayed).
  let explain: @Sendable (Trace, Program) -> String

  var isGraphProperty: Bool {
    if case .onGraph = decision { return true }
    return false
  }
}

/// The property table: one entry per `PropertyKind`, in its order. Adding a property is a
/// case in `PropertyKind`, a file in `Builtin/` with its descriptor, a line here, and the
/// PTState monitor that raises its events.
enum PropertyTable {
  static let all: [PropertyDescriptor] = [
    .noStaleRead, .cmpxchgTerminates, .noLostDirty, .deadlockFree, .lazyBalanced,
    .noLostUpdate, .lazyNesting, .noSleepInAtomic, .noStaleTLB, .noPTLeak, .terminates,
    .reachable, .noBug, .noWarn, .assertions, .invariant,
  ]

  static func descriptor(_ kind: PropertyKind) -> PropertyDescriptor { all[kind.index] }

  /// Per event bit, the property bits it violates; built once per program from the
  /// checked properties, for the interpreter's inner loop.
  static func eventMap(checked: [PropertyKind]) -> [UInt32] {
    var map = [UInt32](repeating: 0, count: Events.RawValue.bitWidth)
    for kind in checked {
      var e = descriptor(kind).raisedBy.rawValue
      while e != 0 {
        map[e.trailingZeroBitCount] |= kind.bit
        e &= e - 1
      }
    }
    return map
  }

  /// The PROPERTIES section of `--help`.
  static var helpText: String {
    all.map { d in
      let name = d.kind.name + String(repeating: " ", count: max(22 - d.kind.name.count, 1))
      let rest = d.help.dropFirst().map { "  " + String(repeating: " ", count: 22) + $0 }
      return (["  " + name + (d.help.first ?? "")] + rest).joined(separator: "\n")
    }.joined(separator: "\n")
  }
}

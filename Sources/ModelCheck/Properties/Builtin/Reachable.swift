import PTState

/// `reachable`: every `cover()` and `reachable(cond)` statement is reached by some
/// execution (Stateright's "sometimes" properties, SPIN's unreached-code report made a
/// verdict). Checked whenever a spec has such a statement, so a spec can prove that the
/// path it is about is explored at all. Decided on the explored graph
/// (`GraphVerdicts.reachable`): a `cover` is a step that changes only the pc, so some stored
/// state rests on it exactly when some execution reaches it.
extension PropertyDescriptor {
  static let reachable = PropertyDescriptor(
    kind: .reachable, decision: .onGraph(GraphVerdicts.reachable), raisedBy: [],
    help: [
      "every cover() and reachable(cond) statement is reached by",
      "some execution (on when the spec has one)",
    ],
    explain: { _, _ in "a cover statement is never reached" })
}

extension GraphVerdicts {
  /// One entry per `cover` instruction: the program, its pc and its statement.
  static func coverPoints(_ program: Program) -> [(context: Int, pc: Int, range: SourceRange?)] {
    var points: [(Int, Int, SourceRange?)] = []
    for k in program.spec.cpus.indices {
      for pc in 0..<program.machine.config.pcLimit[k] {
        if case .cover = program.instruction(cpu: k, pc: pc) {
          points.append((k, pc, program.source(cpu: k, pc: pc)))
        }
      }
    }
    return points
  }

  /// `reachable`: passes when every cover point is the pc of some stored state (found in
  /// BFS order, so the first is at the shortest depth) and fails when one is not, once
  /// exploration went through the whole graph; after a limit or a fault it is incomplete,
  /// like every other verdict (a pass is only ever said of a complete run). Each cover
  /// gets a detail line either way.
  static func reachable(
    _ program: Program, _ explorer: borrowing BreadthFirst<Program>, budget: inout Budget
  ) -> (PropertyResult, Int) {
    var result = PropertyResult(kind: .reachable, status: explorer.isComplete ? .pass : .incomplete)
    let points = coverPoints(program)
    var firstState = [Int?](repeating: nil, count: points.count)
    var left = points.count
    let pcs = program.machine.layout.pc
    let s = explorer.store.scratch(0)
    for id in 0..<explorer.store.count where left > 0 {
      explorer.store.copyState(id, into: s)
      for (i, point) in points.enumerated() where firstState[i] == nil {
        // With symmetry, a twin at the same pc stands for this program there.
        let twins = explorer.canonical ? program.twins(of: point.context) : [point.context]
        if twins.contains(where: { Int(s[pcs[$0]]) == point.pc }) {
          firstState[i] = id
          left -= 1
        }
      }
    }
    let file = program.spec.sourceFile
    for (i, point) in points.enumerated() {
      let name = program.spec.cpus[point.context].name
      let at =
        point.range.map { r in
          "line \(r.start.line)" + (file.map { " ('\($0.text(r))')" } ?? "")
        } ?? "a cover point"
      if let id = firstState[i] {
        let steps = explorer.path(to: id).count - 1
        result.details.append("\(name) reaches \(at) in \(steps) step\(steps == 1 ? "" : "s")")
      } else if explorer.isComplete {
        result.status = .fail
        result.details.append("\(name) never reaches \(at): no execution gets there")
      } else {
        result.details.append("\(name) has not reached \(at) in the states explored")
      }
    }
    return (result, 0)
  }
}

import PTState

/// The graph search behind `cmpxchg_terminates` and `terminates`, on the explored state
/// graph (never with a counter in the state). For one retry loop L of process c (for
/// `terminates`: the states where some program is unfinished, every edge a "retry"):
///
/// - the *loop subgraph* is every state where c is inside L, with the edges between
///   them; an edge is a *retry* when c's cmpxchg owned by L fails and c stays in L;
/// - an iterative Tarjan finds its strongly connected components (SCCs), sinks first;
/// - an SCC with an internal retry edge lets c retry forever. It is a *livelock* when it
///   is fair: every process either steps inside the SCC or is disabled somewhere in it
///   (weak fairness; the environment, i.e. hardware and hypervisor flushes, owes nothing).
///   Then the lasso is the BFS path to the SCC's first state, and a cycle inside the SCC
///   through a retry edge and through a step (or a disabled state) of every process;
/// - otherwise the most retries is the longest path counting retry edges, computed over
///   the SCCs in reverse topological order; an unfair retry cycle makes it unbounded.
///
/// The subgraph's edges are made once, before the search (`SubgraphEdges`: 4 bytes each,
/// freed after the search): from the successors the search recorded (`LoopEdges`), or by
/// applying the actions again and looking the successors up, on the run's threads; without
/// the memory for them, the search regenerates each edge as it follows it. The fairness
/// check, the lasso and the over-bound run regenerate the edges they need.
struct RetryReport: Sendable {
  /// The most retries in one run of the loop; nil when unbounded.
  var maxRetries: Int?
  /// A fair livelock: the actions of the prefix, then of the cycle.
  var lasso: (prefix: [Int], cycle: [Int])?
  /// A run exceeding the bound: its actions from the initial state.
  var overBound: [Int]?
  /// The subgraph size (for statistics).
  var subgraphStates = 0
}

/// One frame of the iterative Tarjan search.
private struct TarjanFrame: BitwiseCopyable {
  var node: UInt32 = 0
  var nextAction: UInt32 = 0
  var best: UInt32 = 0  // longest retry path leaving the component from here
  var retryInside = false
  var childRetry = false  // the retry flag of the tree edge being explored
}

extension BreadthFirst {
  /// - Parameters:
  ///   - inLoop: whether process `c` is inside the loop in a state;
  ///   - staysInLoop: whether a step of `c` (given its outcome) stayed inside the loop the
  ///     whole time: a step that breaks out and re-enters starts a new run of the loop.
  ///   - isRetry: whether a step of `c` (given its outcome) is a retry of this loop.
  ///   - process `nil`: no process owns the subgraph, and every edge counts as a retry
  ///     (`terminates`: a fair cycle of any kind among unfinished states).
  ///   - budget: what the pass may allocate; nil is returned when it does not suffice.
  ///   - storeEdges: generate the subgraph's edges once before the search
  ///     (`SubgraphEdges`), as long as the budget allows; false: regenerate each one as the
  ///     search follows it (the same answer, slower; for tests).
  func analyzeRetries(
    process c: Int?, bound: Int?, budget: inout Budget, inLoop: (PackedStateView) -> Bool,
    staysInLoop: (StepOutcome) -> Bool, isRetry: (StepOutcome) -> Bool, storeEdges: Bool = true
  ) -> RetryReport? {
    if budget.mustStop() { return nil }
    let n = store.count
    let actionCount = system.actionCount
    let scratch = store.scratch(0)
    let canonical = self.canonical
    // The source of `edge`'s step, decoded from the store.
    let sourceWords = UnsafeMutablePointer<UInt64>.allocate(capacity: max(system.wordCount, 1))
    defer { sourceWords.deallocate() }
    let source = PackedState(sourceWords, wordCount: system.wordCount)

    // Local numbering of the subgraph.
    guard let local = CheckedArray<UInt32>(capacity: n, count: n, repeating: .max, budget: &budget)
    else { return nil }
    var m = 0
    for id in 0..<n where store.withState(id, inLoop) {
      local[id] = UInt32(m)
      m += 1
    }
    var report = RetryReport(maxRetries: 0, subgraphStates: m)
    if m == 0 { return report }
    guard let nodes = CheckedArray<UInt32>(capacity: m, repeating: 0, budget: &budget),
      let index = CheckedArray<UInt32>(capacity: m, count: m, repeating: .max, budget: &budget),
      let lowlink = CheckedArray<UInt32>(capacity: m, count: m, repeating: 0, budget: &budget),
      let longest = CheckedArray<UInt32>(capacity: m, repeating: 0, budget: &budget),
      let retryComponents = CheckedArray<UInt32>(capacity: m, repeating: 0, budget: &budget),
      let tarjanStack = CheckedArray<UInt32>(capacity: m, repeating: 0, budget: &budget),
      let callStack = CheckedArray<TarjanFrame>(
        capacity: m, repeating: TarjanFrame(), budget: &budget)
    else { return nil }
    for id in 0..<n where local[id] != .max { nodes.append(UInt32(id)) }

    let processOf = (0..<actionCount).map { system.process(of: $0) }
    /// Whether a step by action `a` with outcome `out` can be an edge of the subgraph (nil:
    /// not), and then whether it is a retry of this loop.
    func step(_ a: Int, _ out: StepOutcome) -> Bool? {
      guard out.enabled else { return nil }
      guard let c else { return true }
      let ownStep = processOf[a] == c
      if ownStep, !staysInLoop(out) { return nil }  // left the loop: this run of it ended
      return ownStep && isRetry(out)
    }

    /// The successor of node `u` under action `a` inside the subgraph, and whether the
    /// step is a retry of this loop.
    func edge(_ u: Int, _ a: Int) -> (v: Int, retry: Bool)? {
      store.copyState(Int(nodes[u]), into: source)
      scratch.copy(from: source.view)
      guard let retry = step(a, system.apply(a, to: scratch)) else { return nil }
      // Cheap cases first: a self-loop needs no lookup, and a state outside the loop is
      // not in the subgraph.
      if scratch.view.equals(source.view) { return (u, retry) }
      if canonical { system.canonicalize(scratch) }
      guard inLoop(scratch.view), let id = visited.find(scratch.view, in: store) else { return nil }
      let v = local[id]
      guard v != .max else { return nil }
      return (Int(v), retry)
    }

    // The subgraph's edges, generated once (on the run's threads); without the memory for
    // them, each edge is regenerated whenever the search follows it.
    var stored: (edges: SubgraphEdges, bytes: Int)?
    if storeEdges {
      // A loop's subgraph has no edge for an environment step that changes nothing (a
      // self-loop that is no retry); `terminates` counts every self-loop.
      stored = subgraphEdges(
        nodes: nodes, local: local, budget: &budget, process: c, inLoop: inLoop, step: step)
      if stored == nil, budget.stopped != nil { return nil }
    }
    let edges = stored?.edges
    let edgeEnd = UInt32(actionCount)

    // Iterative Tarjan. `lowlink[v]` gets the high bit once v's component is complete, and
    // then holds the component's number. A node that is not the root of its component is
    // in its DFS parent's component, so "longest retry path out of the component" and
    // "a retry edge inside it" are carried up the DFS frames, not stored per node.
    let done: UInt32 = 0x8000_0000
    let unbounded = UInt32.max
    var nextIndex: UInt32 = 0

    @inline(__always) func add(_ w: UInt32, _ retry: Bool) -> UInt32 {
      w == unbounded ? unbounded : w + (retry ? 1 : 0)
    }

    for root in 0..<m where index[root] == .max {
      index[root] = nextIndex
      lowlink[root] = nextIndex
      nextIndex += 1
      tarjanStack.append(UInt32(root))
      callStack.append(TarjanFrame(node: UInt32(root), nextAction: edges?.first(root) ?? 0))
      while !callStack.isEmpty {
        let top = callStack.count - 1
        let u = Int(callStack[top].node)
        if callStack[top].nextAction < edges?.end(u) ?? edgeEnd {
          let k = callStack[top].nextAction
          callStack[top].nextAction += 1
          let v: Int
          let retry: Bool
          if let edges {
            (v, retry) = edges.edge(u, k)
          } else {
            guard let e = edge(u, Int(k)) else { continue }
            (v, retry) = e
          }
          if index[v] == .max {  // tree edge
            // The time limit and interrupts, every 4096 nodes (a clock read).
            if nextIndex & 4095 == 0, budget.mustStop() { return nil }
            index[v] = nextIndex
            lowlink[v] = nextIndex
            nextIndex += 1
            tarjanStack.append(UInt32(v))
            callStack[top].childRetry = retry
            callStack.append(TarjanFrame(node: UInt32(v), nextAction: edges?.first(v) ?? 0))
          } else if lowlink[v] & done == 0 {  // on the stack: inside u's component
            lowlink[u] = min(lowlink[u], index[v])
            if retry { callStack[top].retryInside = true }
          } else {  // a completed component
            let value = add(longest[Int(lowlink[v] & ~done)], retry)
            callStack[top].best = max(callStack[top].best, value)
          }
          continue
        }
        let frame = callStack.removeLast()
        if lowlink[u] == index[u] {
          // u roots a component: pop it.
          let id = UInt32(longest.count)
          while true {
            let w = Int(tarjanStack.removeLast())
            lowlink[w] = done | id
            if w == u { break }
          }
          longest.append(frame.retryInside ? unbounded : frame.best)
          if frame.retryInside { retryComponents.append(id) }
          if !callStack.isEmpty {  // the tree edge into u leaves the parent's component
            let p = callStack.count - 1
            let value = add(longest[Int(id)], callStack[p].childRetry)
            callStack[p].best = max(callStack[p].best, value)
          }
        } else if !callStack.isEmpty {
          // u is in its parent's component: hand up what it found.
          let p = callStack.count - 1
          let parent = Int(callStack[p].node)
          lowlink[parent] = min(lowlink[parent], lowlink[u])
          callStack[p].best = max(callStack[p].best, frame.best)
          if frame.retryInside || callStack[p].childRetry { callStack[p].retryInside = true }
        }
      }
    }
    if let stored { budget.give(stored.bytes) }  // freed here: nothing below uses them
    stored = nil
    let component: (Int) -> Int = { Int(lowlink[$0] & ~done) }

    // Components where the loop retries forever: is one of them fair? Members are grouped
    // by component once (a counting sort), so the check is linear in the subgraph.
    if !retryComponents.isEmpty {
      let componentCount = longest.count
      guard
        let first = CheckedArray<UInt32>(
          capacity: componentCount + 1, count: componentCount + 1, repeating: 0, budget: &budget),
        let members = CheckedArray<UInt32>(capacity: m, count: m, repeating: 0, budget: &budget)
      else { return nil }
      for x in 0..<m { first[component(x) + 1] += 1 }
      for k in 0..<componentCount { first[k + 1] += first[k] }
      let fill = CheckedArray<UInt32>(capacity: componentCount, repeating: 0, budget: &budget)
      guard let fill else { return nil }
      for k in 0..<componentCount { fill.append(first[k]) }
      for x in 0..<m {
        let k = component(x)
        members[Int(fill[k])] = UInt32(x)
        fill[k] += 1
      }
      for r in 0..<retryComponents.count where report.lasso == nil {
        let id = Int(retryComponents[r])
        let ids = (Int(first[id])..<Int(first[id + 1])).map { Int(members[$0]) }
        // With symmetry, a stored state stands for its whole class, and a process for its
        // interchangeable twins: a class is served when one of them steps inside or is
        // disabled somewhere (every fair cycle of the full graph passes that test, and a
        // livelock found so is confirmed by the search without the reductions).
        let system = self.system
        let cls = { (p: Int) -> Int in canonical ? system.symmetryClass(of: p) : p }
        var stepsInside = [Bool](repeating: false, count: system.processCount)
        var disabledSomewhere = [Bool](repeating: false, count: system.processCount)
        for x in ids {
          var enabled = [Bool](repeating: false, count: system.processCount)
          for a in 0..<actionCount {
            let p = system.process(of: a)
            guard p >= 0 else { continue }
            store.copyState(Int(nodes[x]), into: scratch)
            if system.apply(a, to: scratch).enabled { enabled[p] = true }
            if let (y, _) = edge(x, a), component(y) == id { stepsInside[cls(p)] = true }
          }
          for p in 0..<system.processCount where !enabled[p] { disabledSomewhere[cls(p)] = true }
        }
        let fair = (0..<system.processCount).allSatisfy {
          stepsInside[cls($0)] || disabledSomewhere[cls($0)]
        }
        if fair {
          report.lasso = lasso(
            members: ids, disabledSomewhere: disabledSomewhere, nodes: nodes,
            inside: { component($0) == id }, edge: edge)
        }
      }
    }

    var most: UInt32 = 0
    for k in 0..<longest.count { most = max(most, longest[k]) }
    report.maxRetries = most == unbounded ? nil : Int(most)
    if let bound, Int(most) > bound {
      report.overBound = overBoundRun(
        bound: bound, nodes: nodes, value: { Int(longest[component($0)]) },
        unbounded: Int(unbounded), edge: edge)
    }
    return report
  }

  /// Actions from the initial state to `id`. An explorer of kept loop states (`LoopStates`)
  /// cannot see the run: it answers from `runsFromOutside`, or records the question there
  /// and answers no actions (its caller answers the question and asks again).
  func actions(to id: Int) -> [Int] {
    if let outside = runsFromOutside {
      if let run = outside.answers[id] { return run }
      outside.asked.insert(id)
      return []
    }
    let ids = path(to: id)
    if canonical { return concreteActions(along: ids) }
    var actions: [Int] = []
    for i in 1..<max(ids.count, 1) { actions.append(action(from: ids[i - 1], to: ids[i]) ?? 0) }
    return actions
  }

  /// With symmetry the stored path is of representatives: the run follows it from the real
  /// initial state, taking at each step an action whose successor's representative is the
  /// next stored state (one exists: the transitions are symmetric).
  private func concreteActions(along ids: [Int]) -> [Int] {
    withScratchStates(wordCount: system.wordCount, count: 4) { s in
      let (concrete, successor, representative, target) = (s[0], s[1], s[2], s[3])
      _ = system.writeInitialState(concrete)
      var actions: [Int] = []
      for i in 1..<max(ids.count, 1) {
        copyPathState(ids[i], into: target)
        let found = (0..<system.actionCount).first { a in
          successor.copy(from: concrete.view)
          guard system.apply(a, to: successor).enabled else { return false }
          representative.copy(from: successor.view)
          system.canonicalize(representative)
          return representative.view.equals(target.view)
        }
        guard let a = found else { continue }
        concrete.copy(from: successor.view)
        actions.append(a)
      }
      return actions
    }
  }

  /// Shortest path of actions inside the nodes accepted by `allowed`, from `from` to the
  /// first node satisfying `goal` (BFS over regenerated successors).
  private func search(
    from: Int, allowed: (Int) -> Bool, goal: (Int) -> Bool,
    edge: (Int, Int) -> (v: Int, retry: Bool)?
  ) -> (path: [Int], end: Int)? {
    if goal(from) { return ([], from) }
    var parent: [Int: (Int, Int)] = [from: (-1, -1)]
    var queue = [from]
    var head = 0
    while head < queue.count {
      let u = queue[head]
      head += 1
      for a in 0..<system.actionCount {
        guard let (v, _) = edge(u, a), allowed(v), parent[v] == nil else { continue }
        parent[v] = (u, a)
        if goal(v) {
          var path: [Int] = []
          var x = v
          while let (p, act) = parent[x], p >= 0 {
            path.append(act)
            x = p
          }
          return (path.reversed(), v)
        }
        queue.append(v)
      }
    }
    return nil
  }

  private func lasso(
    members: [Int], disabledSomewhere: [Bool], nodes: CheckedArray<UInt32>,
    inside: @escaping (Int) -> Bool,
    edge: (Int, Int) -> (v: Int, retry: Bool)?
  ) -> (prefix: [Int], cycle: [Int]) {
    let system = self.system
    let probe = store.scratch(1)
    let start = members.min { nodes[$0] < nodes[$1] } ?? members[0]  // shallowest in BFS order
    var cycle: [Int] = []
    var at = start

    /// Walks to the nearest node with an internal edge satisfying `want`, then takes it.
    func take(_ want: @escaping (Int, Int, Bool) -> Bool) {
      let has: (Int) -> Bool = { x in
        (0..<system.actionCount).contains { a in
          edge(x, a).map { inside($0.v) && want(x, a, $0.retry) } ?? false
        }
      }
      guard let leg = search(from: at, allowed: inside, goal: has, edge: edge) else { return }
      cycle += leg.path
      at = leg.end
      let here = at
      guard
        let a = (0..<system.actionCount).first(where: { a in
          edge(here, a).map { inside($0.v) && want(here, a, $0.retry) } ?? false
        })
      else { return }
      cycle.append(a)
      at = edge(at, a)?.v ?? at
    }

    // Through a retry of the looping CPU (the nearest one).
    take { _, _, isRetry in isRetry }
    // Through a step of every process that is never disabled in the component.
    for p in 0..<system.processCount
    where !disabledSomewhere[p] && !cycle.contains(where: { system.process(of: $0) == p }) {
      take { _, a, _ in system.process(of: a) == p }
    }
    // Processes disabled somewhere: pass through such a state.
    for p in 0..<system.processCount where disabledSomewhere[p] {
      func disabledHere(_ x: Int) -> Bool {
        !(0..<system.actionCount).contains { a in
          guard system.process(of: a) == p else { return false }
          store.copyState(Int(nodes[x]), into: probe)
          return system.apply(a, to: probe).enabled
        }
      }
      if let leg = search(from: at, allowed: inside, goal: disabledHere, edge: edge) {
        cycle += leg.path
        at = leg.end
      }
    }
    // Back to the start.
    if let leg = search(from: at, allowed: inside, goal: { $0 == start }, edge: edge) {
      cycle += leg.path
    }
    return (actions(to: Int(nodes[start])), cycle)
  }

  /// A run with `bound + 1` retries: the BFS path to a node whose longest retry path
  /// exceeds the bound, then retry edges along the longest path.
  private func overBoundRun(
    bound: Int, nodes: CheckedArray<UInt32>, value: @escaping (Int) -> Int, unbounded: Int,
    edge: (Int, Int) -> (v: Int, retry: Bool)?
  ) -> [Int] {
    guard
      let start = (0..<nodes.count).filter({ value($0) > bound }).min(by: { nodes[$0] < nodes[$1] })
    else { return [] }
    var run = actions(to: Int(nodes[start]))
    var at = start
    var retries = 0
    let system = self.system
    while retries <= bound {
      let d = value(at)
      let done = retries
      // Find, among nodes of the same value, one with a retry edge that keeps the value.
      let goal: (Int) -> Bool = { x in
        (0..<system.actionCount).contains { a in
          guard let (y, r) = edge(x, a), r else { return false }
          return d == unbounded
            ? value(y) == unbounded || value(y) >= bound - done : value(y) == d - 1
        }
      }
      guard let leg = search(from: at, allowed: { value($0) == d }, goal: goal, edge: edge) else {
        break
      }
      run += leg.path
      at = leg.end
      guard
        let a = (0..<system.actionCount).first(where: { a in
          guard let (y, r) = edge(at, a), r else { return false }
          return d == unbounded
            ? value(y) == unbounded || value(y) >= bound - retries : value(y) == d - 1
        })
      else { break }
      run.append(a)
      at = edge(at, a)?.v ?? at
      retries += 1
    }
    return run
  }
}

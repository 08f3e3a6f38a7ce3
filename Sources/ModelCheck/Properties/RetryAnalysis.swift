/// `cmpxchg_terminates`, decided on the explored state graph (never with a counter in
/// the state). For one retry loop L of process c:
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
/// Successors are regenerated from the stored states and looked up in the visited set,
/// so no edge is ever stored: the pass costs time, and memory only for the subgraph.
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

extension BreadthFirst {
  func analyzeRetries(process c: Int, loopTag: UInt16, bound: Int?, inLoop: (UnsafePointer<UInt64>) -> Bool) -> RetryReport {
    let n = store.count
    let wordCount = system.wordCount
    let actionCount = system.actionCount
    let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: wordCount)
    defer { scratch.deallocate() }

    // Local numbering of the subgraph.
    var local = [UInt32](repeating: .max, count: n)
    var nodes: [Int] = []
    for id in 0..<n where inLoop(store.state(id)) {
      local[id] = UInt32(nodes.count)
      nodes.append(id)
    }
    var report = RetryReport(maxRetries: 0, subgraphStates: nodes.count)
    if nodes.isEmpty { return report }

    /// The successor of node `u` under action `a` inside the subgraph, and its weight.
    func edge(_ u: Int, _ a: Int) -> (v: Int, retry: Bool)? {
      scratch.update(from: store.state(nodes[u]), count: wordCount)
      let out = system.apply(a, to: scratch)
      guard out.enabled, let id = visited.find(scratch, in: store) else { return nil }
      let v = local[id]
      guard v != .max else { return nil }
      return (Int(v), out.retryLoop == loopTag && system.process(of: a) == c)
    }

    // Iterative Tarjan.
    let m = nodes.count
    var index = [UInt32](repeating: .max, count: m)
    var lowlink = [UInt32](repeating: 0, count: m)
    var onStack = [Bool](repeating: false, count: m)
    var component = [UInt32](repeating: .max, count: m)
    var longest = [Int](repeating: 0, count: m)  // per component; Int.max = unbounded
    var tarjanStack: [Int] = []
    var callStack: [(node: Int, nextAction: Int)] = []
    var nextIndex: UInt32 = 0
    var componentCount = 0

    for root in 0..<m where index[root] == .max {
      callStack.append((root, 0))
      index[root] = nextIndex
      lowlink[root] = nextIndex
      nextIndex += 1
      tarjanStack.append(root)
      onStack[root] = true
      while let frame = callStack.last {
        let u = frame.node
        if frame.nextAction < actionCount {
          callStack[callStack.count - 1].nextAction += 1
          guard let (v, _) = edge(u, frame.nextAction) else { continue }
          if index[v] == .max {
            index[v] = nextIndex
            lowlink[v] = nextIndex
            nextIndex += 1
            tarjanStack.append(v)
            onStack[v] = true
            callStack.append((v, 0))
          } else if onStack[v] {
            lowlink[u] = min(lowlink[u], index[v])
          }
          continue
        }
        callStack.removeLast()
        if let parent = callStack.last { lowlink[parent.node] = min(lowlink[parent.node], lowlink[u]) }
        guard lowlink[u] == index[u] else { continue }
        // u is the root of a component: pop it.
        var members: [Int] = []
        while true {
          let w = tarjanStack.removeLast()
          onStack[w] = false
          component[w] = UInt32(componentCount)
          members.append(w)
          if w == u { break }
        }
        let me = UInt32(componentCount)
        componentCount += 1
        // Its longest retry path, fairness, and whether it can retry forever.
        var best = 0
        var internalRetry: (u: Int, a: Int)?
        var stepsInside = [Bool](repeating: false, count: system.processCount)
        var disabledSomewhere = [Bool](repeating: false, count: system.processCount)
        for x in members {
          var enabled = [Bool](repeating: false, count: system.processCount)
          for a in 0..<actionCount {
            let p = system.process(of: a)
            scratch.update(from: store.state(nodes[x]), count: wordCount)
            if p >= 0, system.apply(a, to: scratch).enabled { enabled[p] = true }
            guard let (y, retry) = edge(x, a) else { continue }
            if component[y] == me {
              if p >= 0 { stepsInside[p] = true }
              if retry, internalRetry == nil { internalRetry = (x, a) }
            } else {
              let w = longest[Int(component[y])]
              best = max(best, w == .max ? .max : w + (retry ? 1 : 0))
            }
          }
          for p in 0..<system.processCount where !enabled[p] { disabledSomewhere[p] = true }
        }
        if let r = internalRetry {
          best = .max
          let fair = (0..<system.processCount).allSatisfy { stepsInside[$0] || disabledSomewhere[$0] }
          if fair, report.lasso == nil {
            report.lasso = lasso(members: members, retry: r, disabledSomewhere: disabledSomewhere, nodes: nodes, local: local, component: component, me: me, edge: edge)
          }
        }
        longest[Int(me)] = best
      }
    }

    let most = (0..<componentCount).map { longest[$0] }.max() ?? 0
    report.maxRetries = most == .max ? nil : most
    if let bound, most > bound {
      report.overBound = overBoundRun(bound: bound, nodes: nodes, component: component, longest: longest, edge: edge)
    }
    return report
  }

  /// Actions from the initial state to `id`.
  func actions(to id: Int) -> [Int] {
    let ids = path(to: id)
    var actions: [Int] = []
    for i in 1..<max(ids.count, 1) { actions.append(action(from: ids[i - 1], to: ids[i]) ?? 0) }
    return actions
  }

  /// Shortest path of actions inside the nodes accepted by `allowed`, from `from` to the
  /// first node satisfying `goal` (BFS over regenerated successors).
  private func search(
    from: Int, allowed: (Int) -> Bool, goal: (Int) -> Bool, edge: (Int, Int) -> (v: Int, retry: Bool)?
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
    members: [Int], retry: (u: Int, a: Int), disabledSomewhere: [Bool], nodes: [Int], local: [UInt32],
    component: [UInt32], me: UInt32, edge: (Int, Int) -> (v: Int, retry: Bool)?
  ) -> (prefix: [Int], cycle: [Int]) {
    let inside: (Int) -> Bool = { component[$0] == me }
    let system = self.system
    let words = store.words
    let wordCount = system.wordCount
    let start = members.min { nodes[$0] < nodes[$1] } ?? members[0]  // shallowest in BFS order
    var cycle: [Int] = []
    var at = start

    /// Walks to the nearest node with an internal edge satisfying `want`, then takes it.
    func take(_ want: @escaping (Int, Int, Bool) -> Bool) {
      let has: (Int) -> Bool = { x in
        (0..<system.actionCount).contains { a in edge(x, a).map { inside($0.v) && want(x, a, $0.retry) } ?? false }
      }
      guard let leg = search(from: at, allowed: inside, goal: has, edge: edge) else { return }
      cycle += leg.path
      at = leg.end
      let here = at
      guard let a = (0..<system.actionCount).first(where: { a in edge(here, a).map { inside($0.v) && want(here, a, $0.retry) } ?? false }) else { return }
      cycle.append(a)
      at = edge(at, a)?.v ?? at
    }

    // Through a retry of the looping CPU (the nearest one).
    take { _, _, isRetry in isRetry }
    // Through a step of every process that is never disabled in the component.
    for p in 0..<system.processCount where !disabledSomewhere[p] && !cycle.contains(where: { system.process(of: $0) == p }) {
      take { _, a, _ in system.process(of: a) == p }
    }
    // Processes disabled somewhere: pass through such a state.
    for p in 0..<system.processCount where disabledSomewhere[p] {
      let disabledHere: (Int) -> Bool = { x in
        !(0..<system.actionCount).contains { a in
          guard system.process(of: a) == p else { return false }
          let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: wordCount)
          defer { scratch.deallocate() }
          scratch.update(from: words + nodes[x] * wordCount, count: wordCount)
          return system.apply(a, to: scratch).enabled
        }
      }
      if let leg = search(from: at, allowed: inside, goal: disabledHere, edge: edge) {
        cycle += leg.path
        at = leg.end
      }
    }
    // Back to the start.
    if let leg = search(from: at, allowed: inside, goal: { $0 == start }, edge: edge) { cycle += leg.path }
    _ = retry
    return (actions(to: nodes[start]), cycle)
  }

  /// A run with `bound + 1` retries: the BFS path to a node whose longest retry path
  /// exceeds the bound, then retry edges along the longest path.
  private func overBoundRun(
    bound: Int, nodes: [Int], component: [UInt32], longest: [Int], edge: (Int, Int) -> (v: Int, retry: Bool)?
  ) -> [Int] {
    let value: (Int) -> Int = { longest[Int(component[$0])] }
    guard let start = (0..<nodes.count).filter({ value($0) > bound }).min(by: { nodes[$0] < nodes[$1] }) else { return [] }
    var run = actions(to: nodes[start])
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
          return d == .max ? value(y) == .max || value(y) >= bound - done : value(y) == d - 1
        }
      }
      guard let leg = search(from: at, allowed: { value($0) == d }, goal: goal, edge: edge) else { break }
      run += leg.path
      at = leg.end
      guard let a = (0..<system.actionCount).first(where: { a in
        guard let (y, r) = edge(at, a), r else { return false }
        return d == .max ? value(y) == .max || value(y) >= bound - retries : value(y) == d - 1
      }) else { break }
      run.append(a)
      at = edge(at, a)?.v ?? at
      retries += 1
    }
    return run
  }
}

import PTState

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where a violation was seen: the state, and the action taken from it (nil when the
/// state itself is the violation, as for a deadlock).
public struct Witness: Sendable, Equatable {
  public var state: Int
  public var action: Int?
}

/// Exhaustive breadth-first exploration of a `TransitionSystem`.
///
/// States are appended to the store in discovery order, so the store *is* the queue and
/// the first violation found for each property is at the smallest depth: every safety
/// counterexample is a shortest one. Successor generation allocates nothing: the
/// successors of a state go into one batch buffer, reused for every state.
struct BreadthFirst<System: TransitionSystem>: ~Copyable {
  let system: System
  var store: StateStore
  var visited: VisitedSet
  var statistics = Statistics()
  /// Bit per property: the first witness of each.
  var witnesses: [UInt32: Witness] = [:]
  var stopReason: StopReason?
  var faultWitness: Witness?
  /// The first state (in BFS order, so a shallowest one) where every process finished.
  var firstFinished: Int?
  /// Whether every reachable state was expanded (no limit, and no early stop once every
  /// safety property had failed): what a pass over the whole graph needs.
  var exploredAll = false
  /// Folds the prefetching loads so the optimizer keeps them.
  var prefetchSink: UInt64 = 0
  /// Per action: whether taking it counts as the system moving (the deadlock check).
  let isProgressAction: [Bool]
  /// Symmetry reduction: every stored state is its class's representative
  /// (`TransitionSystem.canonicalize`), so the graph passes canonicalize what they look up.
  var canonical = false
  /// Hash compaction (`--fingerprint`): the visited set keeps hashes, the store only the
  /// frontier, so traces are rebuilt by running the search again (`rebuildPaths`).
  let fingerprints: Bool
  /// A search that rebuilds paths: the ids whose states it keeps, those states, and whether
  /// it has them all (and can stop).
  var wanted: Set<Int> = []
  var captured: [Int: [UInt64]] = [:]
  private(set) var capturedAll = false
  /// How the last `run` searched (what `rebuildPaths` repeats).
  private var lastRun: (limits: Limits, reduce: Bool)?
  /// Threads the graph passes may use: the last run's (`--threads`), so that one thread
  /// means one core from the first step to the last.
  private(set) var passThreads = 1
  /// Under fingerprints, with `cmpxchg_terminates`: the states its analysis reads, kept.
  let loopStates: LoopStates<System>?
  /// The explorer of kept loop states: where its `actions(to:)` asks for runs it cannot see.
  var runsFromOutside: LoopStates<System>?
  /// The successors of the states the system wants expanded fully, recorded by the search
  /// (on any number of threads) for the retry analysis.
  var loopEdges: LoopEdges

  /// - Parameter keepsLoopStates: the retry analysis will run (`cmpxchg_terminates`): keep
  ///   what it reads, the loop states under fingerprints and else their successors.
  init(
    system: System, compressAt: Int? = nil, fingerprints: Bool = false,
    keepsLoopStates: Bool = false
  ) {
    self.system = system
    self.fingerprints = fingerprints
    self.loopStates = fingerprints && keepsLoopStates ? LoopStates(system: system) : nil
    self.loopEdges = LoopEdges(
      records: !fingerprints && keepsLoopStates, actionCount: system.actionCount)
    self.store = StateStore(
      wordCount: system.wordCount, compressAt: compressAt, dropsExpanded: fingerprints)
    self.visited = VisitedSet(wordCount: system.wordCount, fingerprints: fingerprints)
    self.isProgressAction = (0..<system.actionCount).map { system.isProgress($0) }
    statistics.wordsPerState = system.wordCount
  }

  var isComplete: Bool { stopReason == nil }

  /// Explores until every state is seen, or every property in `safetyBits` has a witness
  /// (when the full graph is not needed), or a limit is reached.
  /// - Parameters:
  ///   - deadlockBit: the bit to record deadlocks under (0: do not check).
  ///   - reduce: partial-order reduction (`PartialOrder.swift`).
  ///   - maxDepth: expand no state deeper than this (a search for shortest witnesses only).
  mutating func run(
    limits: Limits, safetyBits: UInt32, deadlockBit: UInt32, needsFullGraph: Bool,
    reduce: Bool = false, maxDepth: Int = .max
  ) {
    lastRun = (limits, reduce)
    passThreads = max(limits.threads, 1)
    let reduce = reduce && system.offersLocalSteps
    canonical = limits.symmetry && system.hasSymmetry
    statistics.symmetry = canonical
    if limits.threads > 1 {
      runParallel(
        limits: limits, safetyBits: safetyBits, deadlockBit: deadlockBit,
        needsFullGraph: needsFullGraph, threads: limits.threads, reduce: reduce,
        maxDepth: maxDepth)
      return
    }
    let start = monotonicSeconds()
    var watch = Watch(limits, start: start)
    // The states being expanded, each copied out of the arena (inserting a successor may
    // grow and move the arena, so no view into it is held across an insert), with their
    // successors: the current one, and the two pending (`pipelinedStep`).
    let ring = ExpansionRing(wordCount: system.wordCount, successors: system.actionCount)
    var found = storeInitialState(ring.b0.source)
    var next = 0
    var levelEnd = 1
    var depth = 0
    var transitions = 0
    // Every safety property has its witness, and no pass needs the whole graph.
    func mayStop(_ found: UInt32) -> Bool { !needsFullGraph && safetyBits & ~found == 0 }
    // The states expanded last, whose successors are not stored yet: the older first.
    var pending = Pending()
    var turn = 0

    exploring: while stopReason == nil, !capturedAll {
      if pending.older != nil || pending.newer != nil,
        next == store.count || next == levelEnd || next & 1023 == 0
      {
        let stored = ring.with(turn) { _, newer, older in
          storePending(
            &pending, newer, older, limits, deadlockBit: deadlockBit, &found, &transitions)
        }
        if !stored || capturedAll || mayStop(found) { break }
      }
      if next == store.count { break }
      if next == levelEnd {
        depth += 1
        levelEnd = store.count
        if depth > maxDepth { break }
        if store.dropsExpanded, !dropExpanded(below: next) { break }
      }
      if next & 1023 == 0,
        limitReached(limits, &watch, next: next, transitions: transitions, depth: depth)
      {
        break
      }
      let step = ring.with(turn) { current, newer, older in
        pipelinedStep(
          next, current, &pending, newer, older, levelEnd: levelEnd, reduce: reduce, limits,
          deadlockBit: deadlockBit, &found, &transitions)
      }
      switch step {
      case .stopped: break exploring
      case .done: next += 1
      case .deferred:
        next += 1
        turn += 1
      }
      if capturedAll || mayStop(found) { break }
    }

    finish(next: pending.storedNext, transitions: transitions, depth: depth, start: start)
  }

  /// A state expanded (`expand`), its successors in a buffer, not stored yet.
  struct Expanded {
    var id: Int
    /// Successors in the buffer (self-loops left out), and enabled actions (transitions).
    var produced: Int
    var enabled: Int
    /// Whether a process moved (the stuck-state check), and whether the successors are an
    /// ample set's.
    var processMoved: Bool
    var reduced: Bool
    /// Whether its successors go into `loopEdges`.
    var recordsEdges = false
  }

  /// The one-thread loop's states expanded but not stored (`newer` is the last one), and
  /// how many states have their successors stored (the plain loop's `next`).
  struct Pending {
    var older: Expanded?
    var newer: Expanded?
    var storedNext = 0
  }

  enum PipelinedStep {
    /// The run stops.
    case stopped
    /// State `next` expanded and stored (and the pending ones before it).
    case done
    /// State `next` expanded and now pending.
    case deferred
  }

  /// One step of the one-thread loop, which runs two states behind so that the cache
  /// misses of the lookups overlap with work: state `id` is expanded into `current` and the
  /// slots of its successors are asked for; the states named by the slots of the state
  /// before it (`newer`) are asked for; and the state before that (`older`) has its
  /// successors stored.
  ///
  /// What is recorded (states, parents, counts, witnesses, stuck states) is recorded in the
  /// plain loop's order, so the result is the same: an expansion that would record a fault
  /// or a violation is not deferred but done again, the plain way, once the pending states
  /// are stored; and an ample set reads the same answers from the proviso, which asks only
  /// about states stored before the level being filled (the pending states' successors are
  /// all in that level).
  @inline(__always)
  mutating func pipelinedStep(
    _ id: Int, _ current: borrowing ExpansionBuffer, _ pending: inout Pending,
    _ newer: borrowing ExpansionBuffer, _ older: borrowing ExpansionBuffer, levelEnd: Int,
    reduce: Bool, _ limits: Limits, deadlockBit: UInt32, _ found: inout UInt32,
    _ transitions: inout Int
  ) -> PipelinedStep {
    store.copySource(id, into: current)
    // Trees look successors up by their roots (`expandAndStore`): not deferred.
    var quiet: Expanded?
    if store.treeReader == nil {
      quiet = expand(
        current.source, current, id: id, levelEnd: levelEnd, reduce: reduce, recording: false,
        &found, &transitions)
    }
    let probe = visited.probe(store)
    if let quiet {
      for k in 0..<quiet.produced { probe.prefetchSlot(hash: current.hash(k)) }
    }
    if let p = pending.newer {
      for k in 0..<p.produced { probe.prefetchState(hash: newer.hash(k)) }
    }
    if let p = pending.older {
      pending.older = nil
      guard
        storePendingState(
          p, older, &pending, limits, deadlockBit: deadlockBit, &found, &transitions)
      else { return .stopped }
    }
    // The store may have become trees while storing.
    guard let quiet, store.treeReader == nil else {
      guard
        storePending(&pending, newer, older, limits, deadlockBit: deadlockBit, &found, &transitions)
      else { return .stopped }
      store.copySource(id, into: current)
      guard
        expandAndStore(
          current.source, current, id: id, levelEnd: levelEnd, reduce: reduce, limits,
          deadlockBit: deadlockBit, &found, &transitions)
      else { return .stopped }
      pending.storedNext = id + 1
      return .done
    }
    pending.older = pending.newer
    pending.newer = quiet
    return .deferred
  }

  /// Stores the pending states' successors, the older first. False when the run stops
  /// (or has every state a search that rebuilds paths wants).
  @inline(__always)
  mutating func storePending(
    _ pending: inout Pending, _ newer: borrowing ExpansionBuffer,
    _ older: borrowing ExpansionBuffer, _ limits: Limits, deadlockBit: UInt32,
    _ found: inout UInt32, _ transitions: inout Int
  ) -> Bool {
    if let p = pending.older {
      pending.older = nil
      guard
        storePendingState(
          p, older, &pending, limits, deadlockBit: deadlockBit, &found, &transitions)
      else { return false }
    }
    if let p = pending.newer {
      pending.newer = nil
      guard
        storePendingState(
          p, newer, &pending, limits, deadlockBit: deadlockBit, &found, &transitions)
      else { return false }
    }
    return true
  }

  /// Stores one pending state's successors (in `buffer`) and counts it stored. False when
  /// the run stops (or has every state a search that rebuilds paths wants).
  @inline(__always)
  mutating func storePendingState(
    _ p: Expanded, _ buffer: borrowing ExpansionBuffer, _ pending: inout Pending,
    _ limits: Limits, deadlockBit: UInt32, _ found: inout UInt32, _ transitions: inout Int
  ) -> Bool {
    guard storeExpanded(p, buffer, limits, deadlockBit: deadlockBit, &found, &transitions)
    else { return false }
    pending.storedNext = p.id + 1
    return !capturedAll
  }

  /// State `id` (copied into `source`) expanded and its successors stored at once, the
  /// plain way (`pipelinedStep` defers this): an ample set's successors or every action's,
  /// into `buffer`; their slots touched so the cache misses overlap; inserted in action
  /// order (the BFS order, and so every trace, is unchanged); then the stuck-state check.
  /// False when the run stops.
  @inline(__always)
  mutating func expandAndStore(
    _ source: PackedState, _ buffer: borrowing ExpansionBuffer, id: Int, levelEnd: Int,
    reduce: Bool, _ limits: Limits, deadlockBit: UInt32, _ found: inout UInt32,
    _ transitions: inout Int
  ) -> Bool {
    guard
      let expanded = expand(
        source, buffer, id: id, levelEnd: levelEnd, reduce: reduce, recording: true, &found,
        &transitions)
    else { return false }
    // With trees, every successor's root first: the lookups' cache misses overlap.
    let base = buffer.base
    if let base, let tree = store.treeReader {
      for k in 0..<expanded.produced {
        buffer.setKey(k, tree.key(of: buffer.successor(k).view, base: base))
      }
    }
    for k in 0..<expanded.produced {
      prefetchSink ^= visited.touch(hash: buffer.hash(k), in: store)
    }
    return storeExpanded(
      expanded, buffer, keys: base != nil, limits, deadlockBit: deadlockBit, &found,
      &transitions)
  }

  /// Generates the successors of `source` (state `id`) into `buffer`, with their hashes,
  /// leaving out self-loops: an ample set's if `reduce` finds one, else every action's.
  /// `recording`: faults and violations are recorded as they are seen (nil when one stops
  /// the run, with the transitions up to it counted); else nothing is, and the expansion
  /// gives nil at the first fault or violation not found yet, to be done again recording.
  @inline(__always)
  mutating func expand(
    _ source: PackedState, _ buffer: borrowing ExpansionBuffer, id: Int, levelEnd: Int,
    reduce: Bool, recording: Bool, _ found: inout UInt32, _ transitions: inout Int
  ) -> Expanded? {
    if reduce,
      let ample = Self.ampleSet(
        system, source: source, buffer, seen: visited.probe(store),
        fresh: levelEnd, canonical: canonical)
    {
      return Expanded(
        id: id, produced: ample.produced, enabled: ample.enabled, processMoved: true,
        reduced: true)
    }
    var processMoved = false
    var produced = 0
    var enabled = 0
    let recordsEdges = loopEdges.isRecording && system.mustExpandFully(source.view)
    for a in 0..<system.actionCount {
      // A self-loop that raises nothing: counted, not generated.
      if system.changesNothing(a, in: source.view) {
        assertChangesNothing(a, source.view)
        enabled += 1
        continue
      }
      let successor = buffer.successor(produced)
      successor.copy(from: source.view)
      let outcome = system.apply(a, to: successor)
      if !outcome.enabled { continue }
      enabled += 1
      if isProgressAction[a] { processMoved = true }
      if outcome.fault != 0 || outcome.violations & ~found != 0 {
        guard recording else { return nil }
        record(outcome, Witness(state: id, action: a), &found)
        if stopReason != nil {
          transitions += enabled
          return nil
        }
      }
      // A step that changed nothing (a TLB hit) leads back to its source.
      if successor.view.equals(source.view) { continue }
      if canonical { system.canonicalize(successor) }
      buffer.setHash(produced, VisitedSet.hash(successor.view))
      // An edge to a state the analysis does not read is not recorded.
      let leaves = recordsEdges && !system.mustExpandFully(successor.view)
      buffer.setAction(produced, leaves ? Int(LoopEdges.notRecorded) : a)
      produced += 1
    }
    return Expanded(
      id: id, produced: produced, enabled: enabled, processMoved: processMoved, reduced: false,
      recordsEdges: recordsEdges)
  }

  /// Stores the successors of an expanded state (in `buffer`; `keys`: with the lookup keys
  /// `expandAndStore` worked out), counts its transitions, and checks whether it is stuck.
  /// False when the run stops.
  @inline(__always)
  mutating func storeExpanded(
    _ e: Expanded, _ buffer: borrowing ExpansionBuffer, keys: Bool = false, _ limits: Limits,
    deadlockBit: UInt32, _ found: inout UInt32, _ transitions: inout Int
  ) -> Bool {
    transitions += e.enabled
    if e.reduced { statistics.reducedStates += 1 }
    let records = e.recordsEdges && loopEdges.begin(source: e.id)
    for k in 0..<e.produced {
      let key = keys ? buffer.key(k) : StateStore.Key()
      guard
        let target = insert(
          buffer.successor(k).view, hash: buffer.hash(k), parent: e.id, key: key, limits)
      else { return false }
      if records, buffer.action(k) != LoopEdges.notRecorded {
        loopEdges.append(target: target, action: buffer.action(k))
      }
    }
    if records { loopEdges.endSource() }
    if !e.processMoved || e.produced == 0 {
      noteStuck(buffer.source.view, id: e.id, deadlockBit: deadlockBit, &found)
    }
    return true
  }

  // MARK: Per-state steps shared by `run` and `runParallel`

  /// Stores the initial state (id 0) and records its violations; returns the bits found.
  mutating func storeInitialState(_ scratch: PackedState) -> UInt32 {
    let initial = system.writeInitialState(scratch)
    if canonical { system.canonicalize(scratch) }
    _ = visited.insert(scratch.view, parent: nil, into: &store)
    if fingerprints { _ = keepInserted(0, scratch.view) }
    var found: UInt32 = 0
    for (bit, _) in witnesses { found |= bit }
    record(initial, Witness(state: 0, action: nil), &found)
    return found
  }

  /// The check made every 1024th state: the memory limit, then the clock, a stop asked from
  /// outside (a signal) and the progress line. True (with `stopReason` set) to stop.
  /// `pending`: states found but not stored yet, and their bytes (the parallel search's
  /// `NextLevel`).
  mutating func limitReached(
    _ limits: Limits, _ watch: inout Watch, next: Int, transitions: Int, depth: Int,
    pending: (states: Int, bytes: Int) = (0, 0)
  ) -> Bool {
    // Recording edges for the retry analysis gives way when memory gets short: the store
    // turned to trees to save it, or the limit is near.
    if loopEdges.residentBytes > 0,
      store.tree != nil
        || limits.maxMemoryBytes.map({ residentBytes + pending.bytes > $0 - $0 / 8 }) == true
    {
      loopEdges.abandon()
    }
    let bytes = residentBytes + pending.bytes
    if let m = limits.maxMemoryBytes, bytes > m {
      stopReason = limits.memoryLimitIsMachine ? .machineMemoryLimit(m) : .memoryLimit(m)
      return true
    }
    let states = store.count + pending.states
    let sample = ExplorationProgress(
      states: states, transitions: transitions, frontier: states - next,
      depth: depth, storeBytes: bytes)
    guard let stop = watch.poll(sample) else { return false }
    stopReason = stop
    return true
  }

  /// Inserts a successor of state `parent` unless it is stored already; its id. Nil (with
  /// `stopReason` set) when the state limit or memory stops the run.
  @inline(__always)
  mutating func insert(
    _ successor: PackedStateView, hash: UInt64, parent: Int, key: StateStore.Key,
    _ limits: Limits
  ) -> Int? {
    if let maxStates = limits.maxStates, store.count >= maxStates,
      visited.find(successor, in: store, base: key.base) == nil
    {
      stopReason = .stateLimit(maxStates)
      return nil
    }
    switch visited.insert(successor, hash: hash, parent: parent, key: key, into: &store) {
    case .outOfMemory:
      stopReason = .outOfMemory
      return nil
    case .existing(let id): return id
    case .inserted(let id):
      if fingerprints, !keepInserted(id, successor) { return nil }
      return id
    }
  }

  /// Under fingerprints, a state just stored, before the store lets go of it: kept if a
  /// search that rebuilds paths wants it, and among the loop states if the retry analysis
  /// reads it. False (with `stopReason` set) when memory for it is not had.
  @inline(never)
  mutating func keepInserted(_ id: Int, _ state: PackedStateView) -> Bool {
    if wanted.contains(id) {
      captured[id] = (0..<state.wordCount).map { state[word: $0] }
      capturedAll = captured.count == wanted.count
    }
    if let loopStates, system.mustExpandFully(state), !loopStates.keep(state, id: id) {
      stopReason = .outOfMemory
      return false
    }
    return true
  }

  /// Under fingerprints, at the start of a level: the store lets go of the states already
  /// expanded. False (with `stopReason` set) when memory for the new index is not had.
  mutating func dropExpanded(below next: Int) -> Bool {
    store.drop(below: next)
    if visited.storeDropped(store) { return true }
    stopReason = .outOfMemory
    return false
  }

  /// Under fingerprints, the states on the paths to `targets` are gone once expanded: runs
  /// the same search again (the same ids, since the search is deterministic and the same
  /// for any number of threads), keeping those states, so that `actions(to:)` works for
  /// each target. Stops once it has them all. False if it could not (a limit, a signal).
  mutating func rebuildPaths(to targets: [Int]) -> Bool {
    guard fingerprints, let (limits, reduce) = lastRun else { return true }
    var ids = Set<Int>()
    for t in targets { ids.formUnion(path(to: t)) }
    ids.subtract(captured.keys)
    if ids.isEmpty { return true }
    var again = BreadthFirst(system: system, fingerprints: true)
    again.wanted = ids
    var quiet = limits
    quiet.maxStates = nil
    quiet.maxSeconds = nil
    quiet.progress = nil
    quiet.threads = 1
    again.run(
      limits: quiet, safetyBits: 0, deadlockBit: 0, needsFullGraph: true, reduce: reduce)
    captured.merge(again.captured) { a, _ in a }
    return again.capturedAll
  }

  /// Copies state `id` of a path into `out`: from the store, or (fingerprints) as
  /// `rebuildPaths` kept it.
  func copyPathState(_ id: Int, into out: PackedState) {
    if let words = captured[id] {
      for (w, word) in words.enumerated() { out[word: w] = word }
    } else {
      store.copyState(id, into: out)
    }
  }

  /// State `id` where nothing can move, or nothing that moves changes anything (a program
  /// spinning on a condition that can never become true): the end of a run (check the
  /// final state), or a deadlock.
  mutating func noteStuck(
    _ source: PackedStateView, id: Int, deadlockBit: UInt32, _ found: inout UInt32
  ) {
    if system.isFinished(source) {
      if firstFinished == nil { firstFinished = id }
      let final = system.finalViolations(source) & ~found
      if final != 0 {
        record(
          StepOutcome(enabled: true, violations: final), Witness(state: id, action: nil), &found)
      }
    } else if deadlockBit != 0, found & deadlockBit == 0 {
      witnesses[deadlockBit] = Witness(state: id, action: nil)
      found |= deadlockBit
    }
  }

  /// The end of a run: whether it covered the graph, and its statistics.
  mutating func finish(next: Int, transitions: Int, depth: Int, start: Double) {
    exploredAll = stopReason == nil && next == store.count
    checkInvariants()
    statistics.states = store.count
    statistics.transitions = transitions
    statistics.depth = depth
    statistics.seconds = monotonicSeconds() - start
    loopEdges.trim()
    statistics.storeBytes = residentBytes
    statistics.storeTrees = store.tree != nil
    statistics.fingerprints = fingerprints
  }

  /// The bytes the search holds: the store, the visited set, and what it keeps for the
  /// retry analysis.
  var residentBytes: Int {
    store.residentBytes + visited.residentBytes + (loopStates?.residentBytes ?? 0)
      + loopEdges.residentBytes
  }

  /// Debug builds only: `action` leads from `state` back to it, raising nothing.
  func assertChangesNothing(_ action: Int, _ state: PackedStateView) {
    #if DEBUG
      withScratchStates(wordCount: system.wordCount) { s in
        s[0].copy(from: state)
        let outcome = system.apply(action, to: s[0])
        precondition(
          outcome.enabled && outcome.violations == 0 && outcome.fault == 0
            && s[0].view.equals(state),
          "action \(action) said to change nothing changed something")
      }
    #endif
  }

  /// Debug builds only: the store's, the visited set's and every stored state's invariants.
  private func checkInvariants() {
    #if DEBUG
      store._checkInvariants()
      visited._checkInvariants(store)
      for id in store.first..<store.count {
        if let problem = store.withState(id, { system.invariantViolation($0) }) {
          preconditionFailure("state \(id) breaks an invariant: \(problem)")
        }
      }
    #endif
  }

  /// Records a step's fault (which stops the run) or the first witness of each property it
  /// violates, and adds the violated bits to `found`.
  mutating func record(_ outcome: StepOutcome, _ w: Witness, _ found: inout UInt32) {
    if outcome.fault != 0 {
      faultWitness = w
      stopReason = .fault(code: outcome.fault)
      return
    }
    var bits = outcome.violations
    found |= bits
    while bits != 0 {
      let bit = bits & (~bits &+ 1)
      if witnesses[bit] == nil { witnesses[bit] = w }
      bits &= bits - 1
    }
  }

  /// State ids from the initial state to `id`, following parent links.
  func path(to id: Int) -> [Int] {
    var ids = [id]
    var current = id
    while let p = store.parent(of: current) {
      ids.append(p)
      current = p
    }
    return ids.reversed()
  }

  /// The action that leads from `from` to `to` (for rebuilding traces without storing it).
  func action(from: Int, to: Int) -> Int? {
    withScratchStates(wordCount: system.wordCount, count: 3) { s in
      let (source, target, state) = (s[0], s[1], s[2])
      copyPathState(from, into: source)
      copyPathState(to, into: target)
      return (0..<system.actionCount).first { a in
        state.copy(from: source.view)
        return system.apply(a, to: state).enabled && state.view.equals(target.view)
      }
    }
  }
}

func monotonicSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Peak resident set size of this process, from the OS.
func peakResidentBytes() -> Int? {
  var usage = rusage()
  #if canImport(Glibc)
    let who = __rusage_who_t(RUSAGE_SELF.rawValue)
  #else
    let who = RUSAGE_SELF
  #endif
  guard getrusage(who, &usage) == 0 else { return nil }
  #if canImport(Darwin)
    return Int(usage.ru_maxrss)
  #else
    return Int(usage.ru_maxrss) * 1024
  #endif
}

import Dispatch
import Foundation
import PTState
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The breadth-first search on several threads, with the result of one (`--threads N`).
///
/// It goes level by level. While a level is expanded, the store and the visited set hold
/// exactly the earlier levels and do not change, so every thread reads them freely:
/// - the level's states are taken in blocks of consecutive states, in order. A thread
///   that takes a block generates its states' successors (the apply calls, the copies,
///   the self-loop test, the hashes, the partial-order reduction's ample sets) and looks
///   each up in the visited set, dropping those already there (most of the work), into
///   the block's `ChunkOutput`;
/// - meanwhile this thread merges the finished blocks in order, state by state, with the
///   one-thread loop's logic: the same violations recorded first, the same limits, and
///   each successor added to the next level (`NextLevel`) unless it is there already.
///   When the next block is not finished, it expands one itself, or first builds the
///   visited set's doubled table if the level's end will need one (`growEarly`: the
///   other threads would wait for a growth there);
/// - at the level's end the next level goes into the store and the visited set, in the
///   order it was found.
///
/// So the states are inserted in the order `--threads 1` inserts them, and every count,
/// witness and counterexample is the one-thread one. The ample sets are too: their proviso
/// asks whether a successor is stored before the next level, and the visited set holds
/// exactly those levels here (a successor found earlier in the same level counts as new
/// there too).
final class ChunkOutput {
  /// What the block's expansion found, filled by one thread at a time.
  var columns = Columns()
  /// Scratch: the sources being expanded and their successors, with their hashes (three,
  /// since a worker looks successors up two states behind: see `expand`).
  let ring: ExpansionRing
  /// The block whose successors this holds, once they are all written (-1: none).
  let ready = Atomic<Int>(-1)

  struct Columns {
    /// The successors (not self-loops), whole states one after another, and for each its
    /// hash.
    var words = Column<UInt64>()
    var hashes = Column<UInt64>()
    /// Per source state: its first successor's index (one more entry closes the last).
    var firstSuccessor = Column<Int32>()
    /// Per source state: its enabled actions, its successors that are not self-loops (new
    /// or not), and whether a process moved.
    var enabled = Column<Int32>()
    var produced = Column<Int32>()
    var processMoved = Column<Bool>()
    /// Per source state: whether its successors are an ample set's (partial-order
    /// reduction).
    var usedAmple = Column<Bool>()
    /// Per source state: whether its successors go into `LoopEdges`, and where its entries
    /// start in `loopTargets` and `loopActions` (one more entry closes the last). An entry
    /// is a successor stored before (its id) or found here (`-1 - k`, k its index in
    /// `hashes`), and the action.
    var recordsEdges = Column<Bool>()
    var loopFirst = Column<Int32>()
    var loopTargets = Column<Int>()
    var loopActions = Column<UInt16>()
    /// The outcomes that carry a violation or a fault (rare), in source and action order.
    var notable = Column<Notable>()

    mutating func removeAll() {
      words.removeAll()
      hashes.removeAll()
      firstSuccessor.removeAll()
      enabled.removeAll()
      produced.removeAll()
      processMoved.removeAll()
      usedAmple.removeAll()
      notable.removeAll()
      recordsEdges.removeAll()
      loopFirst.removeAll()
      loopTargets.removeAll()
      loopActions.removeAll()
    }

    /// Frees every column (the output's end).
    func deallocate() {
      words.deallocate()
      hashes.deallocate()
      firstSuccessor.deallocate()
      enabled.deallocate()
      produced.deallocate()
      processMoved.deallocate()
      usedAmple.deallocate()
      notable.deallocate()
      recordsEdges.deallocate()
      loopFirst.deallocate()
      loopTargets.deallocate()
      loopActions.deallocate()
    }
  }

  struct Notable {
    /// The source's index in the chunk, and the number of enabled actions up to and
    /// including this one (the one-thread loop counts transitions up to a fault).
    var source: Int32
    var action: Int32
    var ordinal: Int32
    var violations: UInt32
    var fault: UInt8
  }

  init(wordCount: Int, actionCount: Int) {
    ring = ExpansionRing(wordCount: wordCount, successors: actionCount)
  }

  deinit { columns.deallocate() }
}

/// A growable column of plain values, for a block's output: one thread appends, and the
/// merging thread reads once the block is published. Unlike an array's, an append checks
/// no uniqueness and retains nothing (perf showed the arrays' checks at about 2% of a
/// two-thread run). A copy shares the storage: the owner (`ChunkOutput`) frees it.
struct Column<Element: BitwiseCopyable> {
  private(set) var base: UnsafeMutablePointer<Element>?
  private(set) var count = 0
  private var capacity = 0

  @inline(__always) subscript(i: Int) -> Element {
    assert(i >= 0 && i < count, "column index out of range")
    return base.unsafelyUnwrapped[i]
  }

  @inline(__always) mutating func append(_ x: Element) {
    if count == capacity { grow() }
    base.unsafelyUnwrapped[count] = x
    count += 1
  }

  mutating func removeAll() { count = 0 }

  func deallocate() { free(base) }

  /// Doubles the capacity, or more to hold `minimum` (a block's output is small: a failed
  /// allocation is fatal, as an array's is).
  @inline(never) private mutating func grow(minimum: Int = 0) {
    var newCapacity = max(capacity * 2, 64)
    while newCapacity < minimum { newCapacity *= 2 }
    guard let raw = realloc(base, newCapacity * MemoryLayout<Element>.stride) else {
      fatalError("out of memory growing a block's output")
    }
    base = raw.assumingMemoryBound(to: Element.self)
    capacity = newCapacity
  }
}

extension Column where Element == UInt64 {
  /// Appends a state's words: one capacity check and a state copy, not one per word.
  @inline(__always) mutating func append(state: PackedStateView) {
    let n = state.wordCount
    guard n > 0 else { return }
    if count + n > capacity { grow(minimum: count + n) }
    PackedState(base.unsafelyUnwrapped + count, wordCount: n).copy(from: state)
    count += n
  }
}

/// One level's work, shared by the threads: its blocks, what they read, and a ring of
/// outputs (block `b` goes into `outputs[b % outputs.count]`, so no thread runs more than
/// the ring ahead of the merge).
final class LevelWork<System: TransitionSystem>: @unchecked Sendable {
  struct Job: @unchecked Sendable {
    let system: System
    let blocks: [Range<Int>]
    let seen: VisitedSet.Probe
    let progress: [Bool]
    let reduce: Bool
    let canonical: Bool
    /// The first id of the next level.
    let fresh: Int
    /// Whether the successors of states expanded fully are recorded (`LoopEdges`).
    let recordsEdges: Bool
    /// The part of the store's room for the next level (`StateStore.reserveTail`) that
    /// the level is expected to fill, which the first worker maps in before it expands, so
    /// that the merging thread, which writes there, takes no page faults: its address and
    /// bytes.
    let tail: (address: UnsafeMutableRawPointer, bytes: Int)?
  }

  /// What the workers run next, with their number (1...), set while they wait (`start`
  /// orders it before them).
  private var task: (@Sendable (Int) -> Void)?
  private var quit = false
  private var workers = 0
  let outputs: [ChunkOutput]
  let nextBlock = Atomic<Int>(0)
  /// Blocks merged: the ring slots below `merged + outputs.count` are free.
  let merged = Atomic<Int>(0)
  let stop = Atomic<Bool>(false)
  private let start = DispatchSemaphore(value: 0)
  private let finished = DispatchSemaphore(value: 0)
  private let exited = DispatchGroup()

  init(outputs: [ChunkOutput]) { self.outputs = outputs }

  /// Expands block `b` into its ring slot and publishes it.
  func expand(_ b: Int, _ job: Job) {
    let out = outputs[b % outputs.count]
    BreadthFirst<System>.expand(
      job.blocks[b], seen: job.seen, system: job.system, progress: job.progress,
      reduce: job.reduce, canonical: job.canonical, fresh: job.fresh,
      recordsEdges: job.recordsEdges, into: out)
    out.ready.store(b, ordering: .releasing)
  }

  /// A worker thread's part of a level: blocks in turn, until none is left or the merge
  /// stops.
  func work(_ job: Job) {
    while !stop.load(ordering: .relaxed) {
      let b = nextBlock.wrappingAdd(1, ordering: .relaxed).oldValue
      guard b < job.blocks.count else { return }
      while b >= merged.load(ordering: .acquiring) + outputs.count {
        if stop.load(ordering: .relaxed) { return }
        sched_yield()
      }
      expand(b, job)
    }
  }

  /// The merging thread takes the next block only below `limit` (its ring slot is free;
  /// it never waits for itself).
  func claim(below limit: Int) -> Int? {
    var c = nextBlock.load(ordering: .relaxed)
    while c < limit {
      let (exchanged, original) = nextBlock.compareExchange(
        expected: c, desired: c + 1, ordering: .relaxed)
      if exchanged { return c }
      c = original
    }
    return nil
  }

  /// Starts `count` worker threads, each waiting for tasks until `endWorkers`.
  func startWorkers(_ count: Int) {
    workers = count
    // Threads of their own: a pool thread blocked between levels could starve the pool.
    for w in stride(from: 1, through: count, by: 1) {
      exited.enter()
      Thread { [self] in
        while true {
          start.wait()
          if quit { break }
          task?(w)
          finished.signal()
        }
        exited.leave()
      }.start()
    }
  }

  /// Has every worker run `body` with its number; `wait` waits for them.
  func run(_ body: @escaping @Sendable (Int) -> Void) {
    task = body
    for _ in 0..<workers { start.signal() }
  }

  func wait() {
    for _ in 0..<workers { finished.wait() }
    task = nil
  }

  /// Runs `body` once for each number below `count`, on the workers and on this thread
  /// (after `meanwhile`, which it runs first), and waits for all.
  func forEach(
    _ count: Int, _ body: @escaping @Sendable (Int) -> Void, meanwhile: () -> Void = {}
  ) {
    nextBlock.store(0, ordering: .relaxed)
    let each: @Sendable () -> Void = { [unowned self] in
      while true {
        let k = nextBlock.wrappingAdd(1, ordering: .relaxed).oldValue
        guard k < count else { return }
        body(k)
      }
    }
    run { _ in each() }
    meanwhile()
    each()
    wait()
  }

  /// The workers' part of expanding a level.
  func runExpansion(_ job: Job) {
    nextBlock.store(0, ordering: .relaxed)
    merged.store(0, ordering: .relaxed)
    stop.store(false, ordering: .relaxed)
    for out in outputs { out.ready.store(-1, ordering: .relaxed) }
    run { [unowned self] w in
      if w == 1, let tail = job.tail { populate(tail.address, bytes: tail.bytes) }
      work(job)
    }
  }

  func endWorkers() {
    quit = true
    for _ in 0..<workers { start.signal() }
    exited.wait()
  }
}

extension BreadthFirst {
  /// The most states per block: threads take blocks in turn, so a thread that the OS runs
  /// less does fewer of them instead of holding the others up. A small level is cut into
  /// smaller blocks, so that every thread has some.
  static var blockSize: Int { 128 }
  /// Blocks in the ring, per thread.
  static var ringPerThread: Int { 8 }

  /// Generates the successors of states `range` of the store (read through `seen`) into
  /// `chunk`, leaving out the ones `seen` already holds (but an ample set's). `fresh`: the
  /// first id of the next level.
  ///
  /// As the one-thread loop (`pipelinedStep`), it runs two states behind, so that the
  /// lookups' cache misses overlap with work: a state is expanded and its successors'
  /// slots asked for, the states the previous one's slots name are asked for, and the
  /// successors of the one before that are looked up and written.
  static func expand(
    _ range: Range<Int>, seen: VisitedSet.Probe, system: System,
    progress: [Bool], reduce: Bool, canonical: Bool, fresh: Int, recordsEdges: Bool,
    into chunk: ChunkOutput
  ) {
    // Appended to as a local, not through the class (which checks exclusive access at
    // every access), and put back when done.
    var columns = chunk.columns
    defer { chunk.columns = columns }
    columns.removeAll()
    var pending = (older: WorkerExpanded?.none, newer: WorkerExpanded?.none)
    for (local, id) in range.enumerated() {
      chunk.ring.with(local) { current, newer, older in
        seen.store.copySource(id, into: current)
        let e = expandOne(
          current, local: local, seen: seen, system: system, progress: progress, reduce: reduce,
          canonical: canonical, fresh: fresh, recordsEdges: recordsEdges, &columns)
        if !e.usedAmple {
          for k in 0..<Int(e.produced) { seen.prefetchSlot(hash: current.hash(k)) }
        }
        if let p = pending.newer, !p.usedAmple {
          for k in 0..<Int(p.produced) { seen.prefetchState(hash: newer.hash(k)) }
        }
        if let p = pending.older {
          write(p, older, seen: seen, &columns)
        }
        pending = (pending.newer, e)
      }
    }
    chunk.ring.with(range.count) { _, newer, older in
      if let p = pending.older { write(p, older, seen: seen, &columns) }
      if let p = pending.newer { write(p, newer, seen: seen, &columns) }
    }
    columns.firstSuccessor.append(Int32(columns.hashes.count))
    columns.loopFirst.append(Int32(columns.loopTargets.count))
  }

  /// A worker's expanded state, its successors not written yet.
  struct WorkerExpanded {
    var enabled: Int32
    var produced: Int32
    var processMoved: Bool
    var usedAmple: Bool
    var recordsEdges = false
  }

  /// Generates the successors of the state in `buffer.source` (`local`: its index in the
  /// block) into `buffer`, with their hashes: an ample set's, or every action's, recording
  /// the outcomes that carry a violation or a fault in `columns.notable`.
  @inline(__always)
  static func expandOne(
    _ buffer: borrowing ExpansionBuffer, local: Int, seen: VisitedSet.Probe, system: System,
    progress: [Bool], reduce: Bool, canonical: Bool, fresh: Int, recordsEdges: Bool,
    _ columns: inout ChunkOutput.Columns
  ) -> WorkerExpanded {
    let source = buffer.source
    if reduce,
      let ample = ampleSet(
        system, source: source, buffer, seen: seen, fresh: fresh, canonical: canonical)
    {
      return WorkerExpanded(
        enabled: Int32(ample.enabled), produced: Int32(ample.produced), processMoved: true,
        usedAmple: true)
    }
    var enabled: Int32 = 0
    var produced: Int32 = 0
    var moved = false
    let records = recordsEdges && system.mustExpandFully(source.view)
    for a in 0..<system.actionCount {
      if system.changesNothing(a, in: source.view) {
        enabled += 1
        continue
      }
      let successor = buffer.successor(Int(produced))
      successor.copy(from: source.view)
      let outcome = system.apply(a, to: successor)
      if !outcome.enabled { continue }
      enabled += 1
      if progress[a] { moved = true }
      if outcome.fault != 0 || outcome.violations != 0 {
        columns.notable.append(
          ChunkOutput.Notable(
            source: Int32(local), action: Int32(a), ordinal: enabled,
            violations: outcome.violations,
            fault: outcome.fault))
        if outcome.fault != 0 { break }  // the search stops here
      }
      if successor.view.equals(source.view) { continue }
      if canonical { system.canonicalize(successor) }
      buffer.setHash(Int(produced), VisitedSet.hash(successor.view))
      // As in the one-thread loop: an edge to a state the analysis does not read is not
      // recorded.
      let leaves = records && !system.mustExpandFully(successor.view)
      buffer.setAction(Int(produced), leaves ? Int(LoopEdges.notRecorded) : a)
      produced += 1
    }
    return WorkerExpanded(
      enabled: enabled, produced: produced, processMoved: moved, usedAmple: false,
      recordsEdges: records)
  }

  /// Writes an expanded state's successors (in `buffer`) into `columns`: an ample set's
  /// all, else the ones `seen` does not hold.
  @inline(__always)
  static func write(
    _ e: WorkerExpanded, _ buffer: borrowing ExpansionBuffer, seen: VisitedSet.Probe,
    _ columns: inout ChunkOutput.Columns
  ) {
    columns.firstSuccessor.append(Int32(columns.hashes.count))
    columns.loopFirst.append(Int32(columns.loopTargets.count))
    for k in 0..<Int(e.produced) {
      let successor = buffer.successor(k).view
      let hash = buffer.hash(k)
      let action = buffer.action(k)
      let records = e.recordsEdges && action != LoopEdges.notRecorded
      if !e.usedAmple, let id = seen.id(of: successor, hash: hash, base: buffer.base) {
        if records {
          columns.loopTargets.append(id)
          columns.loopActions.append(action)
        }
        continue
      }
      if records {
        columns.loopTargets.append(-1 - columns.hashes.count)
        columns.loopActions.append(action)
      }
      columns.words.append(state: successor)
      columns.hashes.append(hash)
    }
    columns.enabled.append(e.enabled)
    columns.produced.append(e.produced)
    columns.processMoved.append(e.processMoved)
    columns.usedAmple.append(e.usedAmple)
    columns.recordsEdges.append(e.recordsEdges)
  }

  /// `run` with `threads` threads (see `ChunkOutput`'s comment for why the result is the
  /// one-thread result).
  mutating func runParallel(
    limits: Limits, safetyBits: UInt32, deadlockBit: UInt32, needsFullGraph: Bool, threads: Int,
    reduce: Bool, maxDepth: Int
  ) {
    let start = monotonicSeconds()
    // The initial state's, and the stuck-state checks' copies of a source.
    let scratch = ExpansionBuffer(wordCount: system.wordCount, successors: system.actionCount)
    var run = MergeState(
      found: storeInitialState(scratch.source), watch: Watch(limits, start: start),
      goal: (safetyBits, deadlockBit, needsFullGraph))
    var level = NextLevel(wordCount: system.wordCount, fingerprints: fingerprints)
    let ring = Self.ringPerThread * threads
    let work = LevelWork<System>(
      outputs: (0..<ring).map { _ in
        ChunkOutput(wordCount: system.wordCount, actionCount: system.actionCount)
      })
    work.startWorkers(threads - 1)

    exploring: while run.next < store.count, stopReason == nil {
      let levelEnd = store.count
      if run.next > 0 {
        run.depth += 1
        if run.depth > maxDepth { break }
        if store.dropsExpanded, !dropExpanded(below: run.next) { break }
      }
      // The next level's first states go straight into the store, after its states (room
      // for twice the level expected, before the threads read the store).
      let expected = expectedLevel(after: levelEnd - run.next, run)
      var tail: (address: UnsafeMutableRawPointer, bytes: Int)?
      if !fingerprints, let room = store.reserveTail(2 * expected) {
        level.useTail(room, capacity: 2 * expected)
        tail = (UnsafeMutableRawPointer(room), expected * system.wordCount * 8)
      }
      // Twice as many blocks as the ring holds, up to full blocks: every thread has some.
      let size = max(1, min(Self.blockSize, (levelEnd - run.next) / (2 * ring)))
      let job = LevelWork<System>.Job(
        system: system,
        blocks: stride(from: run.next, to: levelEnd, by: size).map {
          $0..<min(levelEnd, $0 + size)
        },
        seen: visited.probe(store), progress: isProgressAction, reduce: reduce,
        canonical: canonical, fresh: levelEnd, recordsEdges: loopEdges.isRecording,
        tail: tail)
      work.runExpansion(job)
      var growing = startsEarlyGrowth(levelSize: levelEnd - run.next, expected: expected, &run)
      // The next level's index is cleared while the other threads expand.
      level.prepare(expected: expected)
      // Merge the blocks in order; when the next is not finished, grow the visited set
      // early or expand one here.
      var stopped = false
      var b = 0
      while b < job.blocks.count {
        let out = work.outputs[b % ring]
        guard out.ready.load(ordering: .acquiring) == b else {
          if growing {
            growing = visited.growEarly(store, chunk: Self.growthChunk)
          } else if let c = work.claim(below: min(job.blocks.count, b + ring)) {
            work.expand(c, job)
          } else {
            sched_yield()
          }
          continue
        }
        stopped = !merge(out, count: job.blocks[b].count, into: &level, &run, limits, scratch)
        if stopped { break }
        b += 1
        work.merged.store(b, ordering: .releasing)
      }
      work.stop.store(true, ordering: .relaxed)
      work.wait()
      let stored = storeLevel(&level, work, limits)
      visited.dropEarlyGrowth()
      if !stored || stopped { break exploring }
    }
    work.endWorkers()
    run.levelOf.deallocate()
    finish(next: run.next, transitions: run.transitions, depth: run.depth, start: start)
  }

  /// Stored states an early growth records at a time (about one block's expansion).
  static var growthChunk: Int { 2048 }

  /// The size expected of the level after one of `levelSize` states: as large again as
  /// that one is to the one before, at most twice it.
  func expectedLevel(after levelSize: Int, _ run: MergeState) -> Int {
    min(2 * levelSize, levelSize * levelSize / max(1, run.lastLevelSize))
  }

  /// Starts building the visited set's doubled table while the level (of `levelSize`
  /// states) is expanded, if the next level (`expected` states) would make it grow at the
  /// level's end: there, the other threads would wait for it.
  mutating func startsEarlyGrowth(
    levelSize: Int, expected: Int, _ run: inout MergeState
  ) -> Bool {
    defer { run.lastLevelSize = levelSize }
    return visited.wouldGrow(adding: expected) && visited.beginEarlyGrowth()
  }

  /// What the merging thread carries from block to block: the next state to merge, the
  /// level, the transitions and violations so far, the clock.
  struct MergeState {
    var next = 0
    var depth = 0
    /// The size of the level expanded before this one.
    var lastLevelSize = 0
    /// Scratch for `merge`: per successor of the source whose edges it records, its index
    /// in the level.
    var levelOf = Column<Int32>()
    var transitions = 0
    var found: UInt32
    var watch: Watch
    let goal: (safetyBits: UInt32, deadlockBit: UInt32, needsFullGraph: Bool)
  }

  /// Merges finished block `out` (of `count` states, from `run.next` on) into `level`, state
  /// by state with the one-thread loop's logic: limits, violations in order, successors,
  /// the stuck-state check. False when the run stops. Its columns are let go of on return,
  /// so the thread that reuses the slot appends to arrays nothing else holds (no copy).
  mutating func merge(
    _ out: ChunkOutput, count: Int, into level: inout NextLevel, _ run: inout MergeState,
    _ limits: Limits, _ scratch: borrowing ExpansionBuffer
  ) -> Bool {
    let wordCount = system.wordCount
    // The output's columns as locals: read through the class, each access is checked.
    let columns = out.columns
    let (words, hashes, firstSuccessor) = (columns.words, columns.hashes, columns.firstSuccessor)
    let (enabled, produced) = (columns.enabled, columns.produced)
    let (processMoved, usedAmple, notable) = (
      columns.processMoved, columns.usedAmple, columns.notable
    )
    let (recordsEdges, loopFirst) = (columns.recordsEdges, columns.loopFirst)
    let (loopTargets, loopActions) = (columns.loopTargets, columns.loopActions)
    let fresh = store.count
    // Every candidate's slot asked for first (prefetches do not wait): the misses overlap.
    for k in 0..<hashes.count { level.prefetchSlot(hash: hashes[k]) }
    var nextNotable = 0
    for local in 0..<count {
      if run.next & 1023 == 0,
        limitReached(
          limits, &run.watch, next: run.next, transitions: run.transitions, depth: run.depth,
          pending: (level.count, level.residentBytes))
      {
        return false
      }
      while nextNotable < notable.count, notable[nextNotable].source == local {
        let n = notable[nextNotable]
        nextNotable += 1
        guard n.fault != 0 || n.violations & ~run.found != 0 else { continue }
        let outcome = StepOutcome(enabled: true, violations: n.violations, fault: n.fault)
        record(outcome, Witness(state: run.next, action: Int(n.action)), &run.found)
        if stopReason != nil {
          run.transitions += Int(n.ordinal)
          return false
        }
      }
      if usedAmple[local] { statistics.reducedStates += 1 }
      run.transitions += Int(enabled[local])
      let (first, end) = (Int(firstSuccessor[local]), Int(firstSuccessor[local + 1]))
      let records = recordsEdges[local] && loopEdges.begin(source: run.next)
      // Per successor of this source: its index in the level (for `loopTargets`).
      if records { run.levelOf.removeAll() }
      for k in first..<end {
        // `words.base` is set: the block has a successor.
        let state = words.base.unsafelyUnwrapped + k * wordCount
        let successor = PackedStateView(state, wordCount: wordCount)
        guard let i = insertInLevel(&level, successor, hash: hashes[k], parent: run.next, limits)
        else { return false }
        if records { run.levelOf.append(Int32(truncatingIfNeeded: i)) }
      }
      if records {
        // A successor found here gets its id when the level is stored, in level order.
        for r in Int(loopFirst[local])..<Int(loopFirst[local + 1]) {
          let t = loopTargets[r]
          let target = t >= 0 ? t : fresh + Int(run.levelOf[-1 - t - first])
          loopEdges.append(target: target, action: loopActions[r])
        }
        loopEdges.endSource()
      }
      if !processMoved[local] || produced[local] == 0 {
        store.copySource(run.next, into: scratch)
        noteStuck(scratch.source.view, id: run.next, deadlockBit: run.goal.deadlockBit, &run.found)
      }
      run.next += 1
      if !run.goal.needsFullGraph, run.goal.safetyBits & ~run.found == 0 { return false }
    }
    return true
  }

  /// Adds a successor of state `parent` to the next level unless it is there; its index
  /// there. Nil (with `stopReason` set) when the state limit or memory stops the run.
  @inline(__always)
  mutating func insertInLevel(
    _ level: inout NextLevel, _ successor: PackedStateView, hash: UInt64, parent: Int,
    _ limits: Limits
  ) -> Int? {
    // The workers left out every state stored before: only the level can hold it.
    if let maxStates = limits.maxStates, store.count + level.count >= maxStates,
      !level.contains(successor, hash: hash)
    {
      stopReason = .stateLimit(maxStates)
      return nil
    }
    guard let i = level.insert(successor, hash: hash, parent: parent) else {
      stopReason = .outOfMemory
      return nil
    }
    return i
  }

  /// Stores the next level's states, in the order they were found, and empties it. False
  /// (with `stopReason` set) when memory stops the run.
  ///
  /// Each state is new. In the exact table the threads record them by region
  /// (`VisitedSet.NewStates`); under fingerprints one by one, with what `insert` does for
  /// each.
  mutating func storeLevel(
    _ level: inout NextLevel, _ work: LevelWork<System>, _ limits: Limits
  ) -> Bool {
    defer { level.removeAll() }
    let n = level.count
    if n == 0 { return true }
    guard !fingerprints else {
      for i in 0..<n {
        guard
          insert(level.state(i), hash: level.hash(i), parent: level.parent(i), key: .init(), limits)
            != nil
        else { return false }
      }
      return true
    }
    let first = store.count
    let regions = limits.threads
    guard visited.reserve(n, store) else {
      stopReason = .outOfMemory
      return false
    }
    // The threads record the states in the table by region while this thread appends them
    // to the store (recording needs only ids and hashes).
    let recorder = visited.newStates()
    let left = UnsafeMutableBufferPointer<VisitedSet.NewStates.Left>.allocate(capacity: regions)
    left.initialize(repeating: .init())
    defer { left.deallocate() }
    let shared = SharedWithThreads(value: (hashes: level.allHashes, left: left))
    let record: @Sendable (Int) -> Void = { r in
      recorder.record(
        first: first, hashes: shared.value.hashes, count: n, region: r, of: regions,
        into: &shared.value.left[r])
    }
    // The states in the store's tail are counted in; the rest are copied after them.
    var appended = true
    let inTail = level.inTail
    work.forEach(regions, record) {
      appended =
        store.appendTail(inTail) { level.parent($0) }
        && (inTail == n
          || store.append(n - inTail, states: level.statesAfterTail) {
            level.parent(inTail + $0)
          })
    }
    guard appended else {
      stopReason = .outOfMemory
      return false
    }
    visited.recordLeftOver(first: first, hashes: level.allHashes, count: n, left)
    return true
  }
}

/// A value handed to threads whose work touches disjoint memory (or only reads).
struct SharedWithThreads<T>: @unchecked Sendable { let value: T }

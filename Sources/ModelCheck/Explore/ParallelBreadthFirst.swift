import Dispatch
import PTState
import Synchronization

/// The breadth-first search on several threads, with the result of one (`--threads N`).
///
/// The frontier is taken in chunks of consecutive states. Worker threads generate the
/// successors of a chunk's states (the apply calls, the copies, the self-loop test, the
/// hashes, and the lookup of each in the visited set, which drops the many that are
/// already there: most of the work), each into its own `ChunkOutput`; then this thread
/// merges them state by state, in store order and action order, with exactly the logic of
/// the one-thread loop: the same violations recorded first, the same insertions (a
/// successor found already stored inserts nothing there either), the same limits. So the
/// store, every count, every witness and so every counterexample are the ones
/// `--threads 1` gives. The workers only read the store and the visited set, and only
/// while nothing is inserted: the merge starts after they have all finished.
final class ChunkOutput {
  let wordCount: Int
  /// The successors (not self-loops), `wordCount` words each, and for each its hash.
  var words: [UInt64] = []
  var hashes: [UInt64] = []
  /// Per source state: its first successor's index (one more entry closes the last).
  var firstSuccessor: [Int32] = []
  /// Per source state: its enabled actions, its successors that are not self-loops (new or
  /// not), and whether a process moved.
  var enabled: [Int32] = []
  var produced: [Int32] = []
  var processMoved: [Bool] = []
  /// Per source state: whether its successors are an ample set's (partial-order reduction),
  /// all new when the chunk started; the merge checks they still are.
  var usedAmple: [Bool] = []
  /// The outcomes that carry a violation or a fault (rare), in source and action order.
  var notable: [Notable] = []
  /// Scratch: the source being expanded and its successors (`ExpansionBuffer`), with their
  /// hashes; the prefetching loads are folded into `sink` so the optimizer keeps them.
  let buffer: ExpansionBuffer
  var sink: UInt64 = 0

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
    self.wordCount = wordCount
    buffer = ExpansionBuffer(wordCount: wordCount, successors: actionCount)
  }

  func reset() {
    words.removeAll(keepingCapacity: true)
    hashes.removeAll(keepingCapacity: true)
    firstSuccessor.removeAll(keepingCapacity: true)
    enabled.removeAll(keepingCapacity: true)
    produced.removeAll(keepingCapacity: true)
    processMoved.removeAll(keepingCapacity: true)
    usedAmple.removeAll(keepingCapacity: true)
    notable.removeAll(keepingCapacity: true)
  }
}

/// Lets the workers share what they only read; each writes only its own `ChunkOutput`.
private struct Shared<T>: @unchecked Sendable {
  let value: T
}

extension BreadthFirst {
  /// States per chunk, and per block of a chunk: the workers take blocks in turn, so a
  /// thread that the OS runs less does fewer of them instead of holding the others up.
  static var chunkSize: Int { 4096 }
  static var blockSize: Int { 128 }

  /// Generates the successors of states `range` of the store (read through `seen`) into
  /// `out`, leaving out the ones `seen` already holds (but an ample set's). `levelEnd`: the
  /// first id of the level after the chunk's first state's; `stored`: the store's count.
  static func expand(
    _ range: Range<Int>, seen: VisitedSet.Probe, system: System,
    progress: [Bool], reduce: Bool, canonical: Bool, levelEnd: Int, stored: Int,
    into out: ChunkOutput
  ) {
    let source = out.buffer.source
    let actionCount = system.actionCount
    let wordCount = out.wordCount
    for (local, id) in range.enumerated() {
      seen.store.copySource(id, into: out.buffer)
      out.firstSuccessor.append(Int32(out.hashes.count))
      if reduce,
        // A state of the next level: its next level starts after every stored state.
        let ample = ampleSet(
          system, source: source, out.buffer, seen: seen,
          fresh: id < levelEnd ? levelEnd : stored, canonical: canonical)
      {
        for k in 0..<ample.produced {
          let successor = out.buffer.successor(k).view
          for w in 0..<wordCount { out.words.append(successor[word: w]) }
          out.hashes.append(out.buffer.hash(k))
        }
        out.enabled.append(Int32(ample.enabled))
        out.produced.append(Int32(ample.produced))
        out.processMoved.append(true)
        out.usedAmple.append(true)
        continue
      }
      var enabled: Int32 = 0
      var produced: Int32 = 0
      var moved = false
      // As the one-thread loop: generate every successor, touch their slots so the cache
      // misses overlap, then look each up.
      for a in 0..<actionCount {
        if system.changesNothing(a, in: source.view) {
          enabled += 1
          continue
        }
        let successor = out.buffer.successor(Int(produced))
        successor.copy(from: source.view)
        let outcome = system.apply(a, to: successor)
        if !outcome.enabled { continue }
        enabled += 1
        if progress[a] { moved = true }
        if outcome.fault != 0 || outcome.violations != 0 {
          out.notable.append(
            ChunkOutput.Notable(
              source: Int32(local), action: Int32(a), ordinal: enabled,
              violations: outcome.violations,
              fault: outcome.fault))
          if outcome.fault != 0 { break }  // the search stops here
        }
        if successor.view.equals(source.view) { continue }
        if canonical { system.canonicalize(successor) }
        out.buffer.setHash(Int(produced), VisitedSet.hash(successor.view))
        produced += 1
      }
      for k in 0..<Int(produced) { out.sink ^= seen.touch(hash: out.buffer.hash(k)) }
      for k in 0..<Int(produced) {
        let successor = out.buffer.successor(k).view
        let hash = out.buffer.hash(k)
        if seen.contains(successor, hash: hash, base: out.buffer.base) { continue }
        for w in 0..<wordCount { out.words.append(successor[word: w]) }
        out.hashes.append(hash)
      }
      out.enabled.append(enabled)
      out.produced.append(produced)
      out.processMoved.append(moved)
      out.usedAmple.append(false)
    }
    out.firstSuccessor.append(Int32(out.hashes.count))
  }

  /// `run` with `threads` worker threads (see the type's comment for why the result is the
  /// one-thread result).
  mutating func runParallel(
    limits: Limits, safetyBits: UInt32, deadlockBit: UInt32, needsFullGraph: Bool, threads: Int,
    reduce: Bool, maxDepth: Int
  ) {
    let start = monotonicSeconds()
    var watch = Watch(limits, start: start)
    // The initial state's, and a full expansion the merge makes itself (an ample set whose
    // successors an earlier state of the chunk stored).
    let scratch = ExpansionBuffer(wordCount: system.wordCount, successors: system.actionCount)
    var found = storeInitialState(scratch.source)
    var next = 0
    var levelEnd = 1
    var depth = 0
    var transitions = 0
    let blocks = Self.chunkSize / Self.blockSize
    let outputs = (0..<blocks).map { _ in
      ChunkOutput(wordCount: system.wordCount, actionCount: system.actionCount)
    }
    let progress = isProgressAction
    let wordCount = system.wordCount
    let canonical = self.canonical

    exploring: while next < store.count, stopReason == nil {
      // Split the chunk into blocks, in order; the workers take them in turn.
      let chunkEnd = min(store.count, next + Self.chunkSize)
      let ranges = stride(from: next, to: chunkEnd, by: Self.blockSize).map {
        $0..<min(chunkEnd, $0 + Self.blockSize)
      }
      for out in outputs.prefix(ranges.count) { out.reset() }
      let shared = Shared(value: (system, ranges, outputs, progress, visited.probe(store)))
      let taken = Atomic<Int>(0)
      let (chunkLevelEnd, stored) = (levelEnd, store.count)
      DispatchQueue.concurrentPerform(iterations: min(threads, ranges.count)) { _ in
        let (system, ranges, outputs, progress, seen) = shared.value
        while true {
          let b = taken.wrappingAdd(1, ordering: .relaxed).oldValue
          guard b < ranges.count else { return }
          Self.expand(
            ranges[b], seen: seen, system: system, progress: progress,
            reduce: reduce, canonical: canonical, levelEnd: chunkLevelEnd, stored: stored,
            into: outputs[b])
        }
      }
      // Merge, state by state: the one-thread loop's logic on the outputs.
      for (b, out) in outputs.prefix(ranges.count).enumerated() {
        var nextNotable = 0
        // The output's arrays as locals: reading a class's arrays in the loop retains each.
        let (words, hashes, firstSuccessor) = (out.words, out.hashes, out.firstSuccessor)
        let (enabled, produced, processMoved) = (out.enabled, out.produced, out.processMoved)
        let (usedAmple, notable) = (out.usedAmple, out.notable)
        for local in 0..<ranges[b].count {
          if next == levelEnd {
            depth += 1
            levelEnd = store.count
            if depth > maxDepth { break exploring }
            if store.dropsExpanded, !dropExpanded(below: next) { break exploring }
          }
          if next & 1023 == 0,
            limitReached(limits, &watch, next: next, transitions: transitions, depth: depth)
          {
            break exploring
          }
          while nextNotable < notable.count, notable[nextNotable].source == local {
            let n = notable[nextNotable]
            nextNotable += 1
            guard n.fault != 0 || n.violations & ~found != 0 else { continue }
            let outcome = StepOutcome(enabled: true, violations: n.violations, fault: n.fault)
            record(outcome, Witness(state: next, action: Int(n.action)), &found)
            if stopReason != nil {
              transitions += Int(n.ordinal)
              break exploring
            }
          }
          let first = Int(firstSuccessor[local])
          let end = Int(firstSuccessor[local + 1])
          let ampleStale =
            usedAmple[local]
            && words.withUnsafeBufferPointer { words in
              guard let base = words.baseAddress else { return false }
              return (first..<end).contains { k in
                let successor = PackedStateView(base + k * wordCount, wordCount: wordCount)
                return visited.find(successor, in: store).map { $0 < levelEnd } ?? false
              }
            }
          if ampleStale {
            // A successor is stored in this level or before now: expand it here, as the
            // one-thread loop does (another process's local step may still be an ample set).
            let source = scratch.source
            store.copySource(next, into: scratch)
            guard
              expandAndStore(
                source, scratch, id: next, levelEnd: levelEnd, reduce: reduce, limits,
                deadlockBit: deadlockBit, &found, &transitions)
            else { break exploring }
            next += 1
            if !needsFullGraph, safetyBits & ~found == 0 { break exploring }
            continue
          }
          if usedAmple[local] { statistics.reducedStates += 1 }
          transitions += Int(enabled[local])
          for k in first..<end { prefetchSink ^= visited.touch(hash: hashes[k], in: store) }
          // The source again, for its tree's node ids (the worker's buffer holds a later one).
          if end > first { store.copySource(next, into: scratch) }
          let failed = words.withUnsafeBufferPointer { words -> Bool in
            guard let arena = words.baseAddress else { return false }  // no successor at all
            for k in first..<end {
              let successor = PackedStateView(arena + k * wordCount, wordCount: wordCount)
              let (hash, key) = (hashes[k], StateStore.Key(base: scratch.base))
              if !insert(successor, hash: hash, parent: next, key: key, limits) { return true }
            }
            return false
          }
          if failed { break exploring }
          if !processMoved[local] || produced[local] == 0 {
            store.copySource(next, into: scratch)
            noteStuck(scratch.source.view, id: next, deadlockBit: deadlockBit, &found)
          }
          next += 1
          if !needsFullGraph, safetyBits & ~found == 0 { break exploring }
        }
      }
    }
    finish(next: next, transitions: transitions, depth: depth, start: start)
  }
}

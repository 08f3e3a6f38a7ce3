import Dispatch
import PTState

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The edges of a loop subgraph (`analyzeRetries`), made once before its SCC search so
/// that the search never applies an action or looks a state up. Built in chunks of
/// `chunkSize` consecutive local node numbers, on the run's threads (`--threads`) at once:
/// from the successors the search recorded (`LoopEdges`), or, without that record, by
/// generating a group of nodes' successors together so that their visited-set lookups
/// overlap (the exploration's prefetching), which is where regenerating them edge by edge
/// spent its time (two cache misses a lookup).
///
/// Per node, its edges inside the subgraph in action order: the target's local number,
/// with `retryBit` set for a retry. A self-loop that is not a retry is left out (it
/// changes no SCC and no retry count); a retry self-loop is kept. Node `u`'s edges are
/// `[first(u), end(u))` in chunk `u >> chunkShift`.
final class SubgraphEdges {
  static let chunkShift = 12
  static let chunkSize = 1 << chunkShift
  static let retryBit: UInt32 = 0x8000_0000

  let nodeCount: Int
  let chunkCount: Int
  /// Per node: the end of its edges, as an offset in its chunk.
  private let ends: UnsafeMutablePointer<UInt32>
  /// Per chunk: its edges (nil until filled).
  private let chunks: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>
  /// Per chunk: the bytes its edges take (0 until filled).
  private let chunkBytes: UnsafeMutablePointer<Int>
  /// Per chunk: whether memory for its edges could not be had.
  private let chunkFailed: UnsafeMutablePointer<Bool>

  /// Storage for `nodeCount` nodes; nil when it cannot be had.
  init?(nodeCount: Int) {
    self.nodeCount = nodeCount
    chunkCount = (nodeCount + SubgraphEdges.chunkSize - 1) >> SubgraphEdges.chunkShift
    guard let e = malloc(max(nodeCount, 1) * 4) else { return nil }
    guard let c = calloc(max(chunkCount, 1), MemoryLayout<UnsafeMutablePointer<UInt32>?>.stride)
    else {
      free(e)
      return nil
    }
    guard let b = calloc(max(chunkCount, 1), MemoryLayout<Int>.stride) else {
      free(e)
      free(c)
      return nil
    }
    guard let f = calloc(max(chunkCount, 1), 1) else {
      free(e)
      free(c)
      free(b)
      return nil
    }
    ends = e.assumingMemoryBound(to: UInt32.self)
    chunks = c.assumingMemoryBound(to: UnsafeMutablePointer<UInt32>?.self)
    chunkBytes = b.assumingMemoryBound(to: Int.self)
    chunkFailed = f.assumingMemoryBound(to: Bool.self)
  }

  deinit {
    for k in 0..<chunkCount { free(chunks[k]) }
    free(ends)
    free(chunks)
    free(chunkBytes)
    free(chunkFailed)
  }

  /// Bytes held before any chunk is filled (what to charge the budget up front).
  static func fixedBytes(nodeCount: Int) -> Int {
    let chunks = (nodeCount + chunkSize - 1) >> chunkShift
    return nodeCount * 4 + chunks * (2 * MemoryLayout<Int>.stride + 1)
  }

  /// The bytes chunk `k`'s edges take.
  func bytes(ofChunk k: Int) -> Int { chunkBytes[k] }

  /// Whether chunk `k` could not get memory for its edges.
  func failed(chunk k: Int) -> Bool { chunkFailed[k] }

  /// The offset in its chunk of node `u`'s first edge.
  @inline(__always) func first(_ u: Int) -> UInt32 {
    u & (SubgraphEdges.chunkSize - 1) == 0 ? 0 : ends[u - 1]
  }

  /// The offset in its chunk just past node `u`'s last edge.
  @inline(__always) func end(_ u: Int) -> UInt32 { ends[u] }

  /// Edge `k` (an offset in its chunk) of node `u`: the target and whether it is a retry.
  @inline(__always) func edge(_ u: Int, _ k: UInt32) -> (v: Int, retry: Bool) {
    let e = chunks[u >> SubgraphEdges.chunkShift].unsafelyUnwrapped[Int(k)]
    return (Int(e & ~SubgraphEdges.retryBit), e & SubgraphEdges.retryBit != 0)
  }

  /// Fills chunk `k` from `successors(range, writer)`, which hands the edges of the nodes
  /// in `range` (a part of the chunk, in order) to `writer`. Chunks may be filled
  /// concurrently, each by one thread.
  func fill(chunk k: Int, group: Int, successors: (Range<Int>, EdgeWriter) -> Void) {
    let lower = k << SubgraphEdges.chunkShift
    let upper = min(nodeCount, lower + SubgraphEdges.chunkSize)
    let writer = EdgeWriter(ends: ends)
    var u = lower
    while u < upper {
      let next = min(upper, u + group)
      successors(u..<next, writer)
      u = next
    }
    if writer.failed {
      free(writer.base)
      chunkFailed[k] = true
      return
    }
    // Give back the growth slack.
    if writer.count < writer.capacity, writer.count > 0,
      let raw = realloc(writer.base, writer.count * 4)
    {
      writer.base = raw.assumingMemoryBound(to: UInt32.self)
      writer.capacity = writer.count
    }
    chunks[k] = writer.base
    chunkBytes[k] = writer.capacity * 4
  }
}

/// Appends the edges of one chunk, node by node (`SubgraphEdges.fill`).
final class EdgeWriter {
  fileprivate var base: UnsafeMutablePointer<UInt32>?
  fileprivate var count = 0
  fileprivate var capacity = 0
  fileprivate var failed = false
  private let ends: UnsafeMutablePointer<UInt32>

  fileprivate init(ends: UnsafeMutablePointer<UInt32>) { self.ends = ends }

  /// The next edge of the current node.
  @inline(__always) func append(_ e: UInt32) {
    if count == capacity {
      let grown = max(capacity * 2, 256)
      guard !failed, let raw = realloc(base, grown * 4) else {
        failed = true
        return
      }
      base = raw.assumingMemoryBound(to: UInt32.self)
      capacity = grown
    }
    base.unsafelyUnwrapped[count] = e
    count += 1
  }

  /// Node `u`'s edges are complete (the nodes of a chunk end in order).
  @inline(__always) func end(node u: Int) { ends[u] = UInt32(truncatingIfNeeded: count) }
}

/// Keeps the prefetching loads whose value nothing else uses.
@inline(never) @_optimize(none) private func keepLoads(_ value: UInt64) {}

extension BreadthFirst {
  /// The edges of the loop subgraph `nodes` (local number -> state id; `local` is the
  /// inverse, `.max` outside the subgraph), as `analyzeRetries`'s `edge` defines them:
  /// `step` says whether an action's step is an edge (nil: not) and whether it is a retry.
  /// Also the bytes taken from `budget` for them (to give back once they are freed). Nil
  /// when memory (the budget or `malloc`) does not suffice or the pass must stop; then
  /// `budget` is as it was, except for a stop.
  ///
  /// A loop's subgraph (`process` set) reads the successors the search recorded
  /// (`LoopEdges`) when it recorded every node's, and applies only the process's own
  /// actions again (whether a step stays in the loop, and retries, depends on the loop);
  /// otherwise every action is applied again and each successor looked up.
  func subgraphEdges(
    nodes: CheckedArray<UInt32>, local: CheckedArray<UInt32>, budget: inout Budget,
    process c: Int?, inLoop: (PackedStateView) -> Bool, step: (Int, StepOutcome) -> Bool?
  ) -> (edges: SubgraphEdges, bytes: Int)? {
    if let c, loopEdges.covers(nodes) {
      return fillEdges(nodes.count, budget: &budget) { edges, k in
        recordedSuccessors(chunk: k, of: edges, c, nodes, local, step)
      }
    }
    return fillEdges(nodes.count, budget: &budget) { edges, k in
      generatedSuccessors(
        chunk: k, of: edges, nodes, local, inLoop: inLoop, step: step, skipsNoOps: c != nil)
    }
  }

  /// Edges for `m` nodes, chunk by chunk (`fill`), on the run's threads; the budget and
  /// the clock between rounds of chunks.
  private func fillEdges(
    _ m: Int, budget: inout Budget, _ fill: (SubgraphEdges, Int) -> Void
  ) -> (edges: SubgraphEdges, bytes: Int)? {
    let fixed = SubgraphEdges.fixedBytes(nodeCount: m)
    guard budget.take(fixed) else { return nil }
    var taken = fixed
    guard let edges = SubgraphEdges(nodeCount: m) else {
      budget.give(taken)
      return nil
    }
    let threads = passThreads
    let perRound = threads == 1 ? 1 : threads * 4
    var start = 0
    while start < edges.chunkCount {
      let count = min(perRound, edges.chunkCount - start)
      if count == 1 || threads == 1 {
        for k in start..<start + count { fill(edges, k) }
      } else {
        let base = start
        withoutActuallyEscaping(fill) { fill in
          // Each chunk is filled by one thread, and everything else is only read.
          let work = SharedWithThreads(value: { k in fill(edges, k) })
          DispatchQueue.concurrentPerform(iterations: count) { i in work.value(base + i) }
        }
      }
      var ok = true
      for k in start..<start + count {
        if edges.failed(chunk: k) { ok = false }
        if budget.take(edges.bytes(ofChunk: k)) {
          taken += edges.bytes(ofChunk: k)
        } else {
          ok = false
        }
      }
      start += count
      if !ok || budget.mustStop() {
        budget.give(taken)
        return nil
      }
    }
    return (edges, taken)
  }

  /// Chunk `k`'s edges from what the search recorded: the process's own actions are
  /// applied again, in action order among the recorded successors of the other processes
  /// and the environment, which are edges when their target is in the subgraph (a
  /// successor that is not recorded is a self-loop or outside every loop subgraph).
  private func recordedSuccessors(
    chunk k: Int, of edges: SubgraphEdges, _ c: Int,
    _ nodes: CheckedArray<UInt32>, _ local: CheckedArray<UInt32>,
    _ step: (Int, StepOutcome) -> Bool?
  ) {
    let system = self.system
    let own = (0..<system.actionCount).filter { system.process(of: $0) == c }
    let scratch = ExpansionBuffer(wordCount: system.wordCount, successors: 1)
    let source = scratch.source
    let successor = scratch.successor(0)
    edges.fill(chunk: k, group: SubgraphEdges.chunkSize) { range, writer in
      guard var i = loopEdges.index(of: Int(nodes[range.lowerBound])) else {
        writer.failed = true
        return
      }
      @inline(__always) func add(_ target: Int, retry: Bool) {
        let v = local[target]
        if v != .max { writer.append(v | (retry ? SubgraphEdges.retryBit : 0)) }
      }
      for u in range {
        let id = Int(nodes[u])
        while loopEdges.source(at: i) < id { i += 1 }
        let out = loopEdges.edges(at: i)
        var r = out.lowerBound
        store.copyState(id, into: source)
        for a in own {
          while r < out.upperBound, loopEdges.action(r) < a {
            add(loopEdges.target(r), retry: false)
            r += 1
          }
          var target: Int?
          if r < out.upperBound, loopEdges.action(r) == a {
            target = loopEdges.target(r)
            r += 1
          }
          if system.changesNothing(a, in: source.view) { continue }
          successor.copy(from: source.view)
          guard let retry = step(a, system.apply(a, to: successor)) else { continue }
          // Not recorded: a self-loop, or a step to a state in no loop subgraph.
          if let target {
            add(target, retry: retry)
          } else if retry, successor.view.equals(source.view) {
            writer.append(UInt32(u) | SubgraphEdges.retryBit)
          }
        }
        while r < out.upperBound {
          add(loopEdges.target(r), retry: false)
          r += 1
        }
        writer.end(node: u)
      }
    }
  }

  /// Chunk `k`'s edges, every action applied again: nodes are expanded a group at a
  /// time, so that the visited-set lookups of the whole group overlap (their slots are
  /// loaded first, then the states they name, then each is looked up: every load then hits
  /// the cache).
  private func generatedSuccessors(
    chunk k: Int, of edges: SubgraphEdges, _ nodes: CheckedArray<UInt32>,
    _ local: CheckedArray<UInt32>, inLoop: (PackedStateView) -> Bool,
    step: (Int, StepOutcome) -> Bool?, skipsNoOps: Bool
  ) {
    let system = self.system
    let actionCount = system.actionCount
    let group = max(1, min(64, 4096 / max(actionCount, 1)))
    let buffer = ExpansionBuffer(wordCount: system.wordCount, successors: group * actionCount)
    // `pending[p]`: the successor in slot s as s + 1 (to look up), or 0 (a retry
    // self-loop); the retry bit in bit 30. A node's entries end at `pending[nodeEnd]`.
    let pending = UnsafeMutablePointer<Int32>.allocate(capacity: group * (actionCount + 1))
    let slots = UnsafeMutablePointer<UInt32>.allocate(capacity: max(group * actionCount, 1))
    defer {
      pending.deallocate()
      slots.deallocate()
    }
    edges.fill(chunk: k, group: group) { range, writer in
      // Pass 1: generate.
      var produced = 0
      var pendingCount = 0
      let pendingEnds = pending + range.count * actionCount
      for u in range {
        store.copySource(Int(nodes[u]), into: buffer)
        let source = buffer.source.view
        for a in 0..<actionCount {
          if skipsNoOps, system.changesNothing(a, in: source) { continue }
          let successor = buffer.successor(produced)
          successor.copy(from: source)
          guard let retry = step(a, system.apply(a, to: successor)) else { continue }
          if successor.view.equals(source) {
            if retry {
              pending[pendingCount] = 0
              pendingCount += 1
            }
            continue
          }
          if canonical { system.canonicalize(successor) }
          guard inLoop(successor.view) else { continue }
          buffer.setHash(produced, VisitedSet.hash(successor.view))
          pending[pendingCount] = Int32(produced + 1) | (retry ? 1 << 30 : 0)
          pendingCount += 1
          produced += 1
        }
        pendingEnds[u - range.lowerBound] = Int32(pendingCount)
      }
      // Pass 2: load every slot, then every state they name, so the cache misses overlap.
      for k in 0..<produced { slots[k] = visited.slot(hash: buffer.hash(k)) }
      var sink: UInt64 = 0
      for k in 0..<produced { sink ^= visited.touch(slot: slots[k], in: store) }
      keepLoads(sink)
      // Pass 3: look up, in order.
      var p = 0
      for u in range {
        let end = Int(pendingEnds[u - range.lowerBound])
        while p < end {
          let entry = pending[p]
          p += 1
          if entry == 0 {  // a retry self-loop
            writer.append(UInt32(u) | SubgraphEdges.retryBit)
            continue
          }
          let retryBit = entry & (1 << 30) != 0 ? SubgraphEdges.retryBit : 0
          let successor = buffer.successor(Int(entry & ((1 << 30) - 1)) - 1).view
          guard let id = visited.find(successor, in: store) else { continue }
          let v = local[id]
          if v != .max { writer.append(v | retryBit) }
        }
        writer.end(node: u)
      }
    }
  }
}

extension LoopEdges {
  /// Whether every node (state ids, in increasing order) has its successors recorded.
  func covers(_ nodes: CheckedArray<UInt32>) -> Bool {
    if !isRecording { return false }
    var i = 0
    for u in 0..<nodes.count {
      let id = Int(nodes[u])
      while i < sourceCount, source(at: i) < id { i += 1 }
      if i == sourceCount || source(at: i) != id { return false }
    }
    return true
  }
}

import Dispatch
import PTState

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The edges of a loop subgraph (`analyzeRetries`), generated once before its SCC search
/// so that the search never applies an action or looks a state up. Built in chunks of
/// `chunkSize` consecutive local node numbers, on the run's threads (`--threads`) at once;
/// within each chunk a node's successors are generated together and their visited-set
/// lookups overlap (the exploration's prefetching), which is where regenerating them edge
/// by edge spent its time (two cache misses a lookup).
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
  func subgraphEdges(
    nodes: CheckedArray<UInt32>, local: CheckedArray<UInt32>, budget: inout Budget,
    inLoop: (PackedStateView) -> Bool, step: (Int, StepOutcome) -> Bool?, skipsNoOps: Bool
  ) -> (edges: SubgraphEdges, bytes: Int)? {
    let m = nodes.count
    let fixed = SubgraphEdges.fixedBytes(nodeCount: m)
    guard budget.take(fixed) else { return nil }
    var taken = fixed
    guard let edges = SubgraphEdges(nodeCount: m) else {
      budget.give(taken)
      return nil
    }
    let system = self.system
    let actionCount = system.actionCount
    let wordCount = system.wordCount
    // The threads read the store and the visited set through a pointer (a noncopyable
    // value cannot be captured by the closure they run).
    return withUnsafePointer(to: self) { explorer in

      // Nodes are expanded a group at a time, so that the visited-set lookups of the whole
      // group overlap: their slots are loaded first, then the states they name, then each is
      // looked up (every load then hits the cache).
      let group = max(1, min(64, 4096 / max(actionCount, 1)))

      /// The edges of the nodes in `range`, each node's in action order (what
      /// `analyzeRetries`'s `edge` gives, less the self-loops that are not retries).
      func successors(
        _ range: Range<Int>, _ buffer: borrowing ExpansionBuffer,
        _ pending: UnsafeMutablePointer<Int32>, _ slots: UnsafeMutablePointer<UInt32>,
        _ writer: EdgeWriter
      ) {
        // Pass 1: generate. `pending[p]`: the successor in slot s as s + 1 (to look up), or
        // 0 (a retry self-loop); the retry bit in bit 30. A node's entries end at
        // `pending[nodeEnd]`.
        var produced = 0
        var pendingCount = 0
        let pendingEnds = pending + range.count * actionCount
        for u in range {
          explorer.pointee.store.copySource(Int(nodes[u]), into: buffer)
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
            if explorer.pointee.canonical { system.canonicalize(successor) }
            guard inLoop(successor.view) else { continue }
            buffer.setHash(produced, VisitedSet.hash(successor.view))
            pending[pendingCount] = Int32(produced + 1) | (retry ? 1 << 30 : 0)
            pendingCount += 1
            produced += 1
          }
          pendingEnds[u - range.lowerBound] = Int32(pendingCount)
        }
        // Pass 2: load every slot, then every state they name, so the cache misses overlap.
        for k in 0..<produced { slots[k] = explorer.pointee.visited.slot(hash: buffer.hash(k)) }
        var sink: UInt64 = 0
        for k in 0..<produced {
          sink ^= explorer.pointee.visited.touch(slot: slots[k], in: explorer.pointee.store)
        }
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
            guard let id = explorer.pointee.visited.find(successor, in: explorer.pointee.store)
            else { continue }
            let v = local[id]
            if v != .max { writer.append(v | retryBit) }
          }
          writer.end(node: u)
        }
      }

      func fill(_ k: Int) {
        let buffer = ExpansionBuffer(wordCount: wordCount, successors: group * actionCount)
        let entries = group * (actionCount + 1)
        let pending = UnsafeMutablePointer<Int32>.allocate(capacity: max(entries, 1))
        let slots = UnsafeMutablePointer<UInt32>.allocate(capacity: max(group * actionCount, 1))
        defer {
          pending.deallocate()
          slots.deallocate()
        }
        edges.fill(chunk: k, group: group) { range, writer in
          successors(range, buffer, pending, slots, writer)
        }
      }

      // Rounds of a few chunks per thread; between rounds, the budget and the clock.
      let threads = explorer.pointee.passThreads
      let perRound = threads == 1 ? 1 : threads * 4
      var start = 0
      while start < edges.chunkCount {
        let count = min(perRound, edges.chunkCount - start)
        if count == 1 || threads == 1 {
          for k in start..<start + count { fill(k) }
        } else {
          let base = start
          withoutActuallyEscaping(fill) { fill in
            // Each chunk is filled by one thread, and everything else is only read.
            let work = SharedWithThreads(value: fill)
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
  }
}

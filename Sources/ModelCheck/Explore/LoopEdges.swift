#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The successors the search stored for each state it expanded fully because the system
/// asked (`TransitionSystem.mustExpandFully`: with `cmpxchg_terminates`, a program inside a
/// `loop`, as every retry loop is). The retry analysis reads its loop subgraph's edges from
/// here instead of applying every action again and looking each successor up
/// (`BreadthFirst.subgraphEdges`), which cost about as much as exploring those states.
///
/// Per source, in id order: its successors other than self-loops that the system also wants
/// expanded fully (a loop subgraph has no other states), in action order, as the target's
/// id and the action. Recording gives up (and frees what it holds) rather than stop a run:
/// when memory is short (the store turned to trees, or the memory limit is near), or when
/// an id or a count no longer fits its field; the analysis then generates the edges as
/// before. A value of the explorer's, not a class, so that recording takes no reference
/// counting.
struct LoopEdges: ~Copyable {
  private(set) var sourceCount = 0
  private(set) var edgeCount = 0
  /// Whether successors are being (or were all) recorded.
  private(set) var isRecording: Bool
  /// Per source: its id, and the end of its edges (an index into `targets`).
  private var sources: UnsafeMutablePointer<UInt32>?
  private var ends: UnsafeMutablePointer<UInt32>?
  private var sourceCapacity = 0
  /// Per edge: the target's id and the action.
  private var targets: UnsafeMutablePointer<UInt32>?
  private var actions: UnsafeMutablePointer<UInt16>?
  private var edgeCapacity = 0

  /// What an expansion buffer holds for a successor's action when it is not recorded.
  static let notRecorded = UInt16.max

  /// Records nothing unless `records` and the actions fit the action field.
  init(records: Bool, actionCount: Int) {
    isRecording = records && actionCount < Int(LoopEdges.notRecorded)
  }

  deinit {
    free(sources)
    free(ends)
    free(targets)
    free(actions)
  }

  var residentBytes: Int { sourceCapacity * 8 + edgeCapacity * 6 }

  /// Frees what is recorded and records nothing more.
  mutating func abandon() {
    isRecording = false
    free(sources)
    free(ends)
    free(targets)
    free(actions)
    sources = nil
    ends = nil
    targets = nil
    actions = nil
    sourceCapacity = 0
    edgeCapacity = 0
    sourceCount = 0
    edgeCount = 0
  }

  /// Starts source `id` (ids come in increasing order). False when recording has given up.
  @inline(__always) mutating func begin(source id: Int) -> Bool {
    if !isRecording { return false }
    if sourceCount == sourceCapacity, !growSources() { return false }
    guard id < Int(UInt32.max) else {
      abandon()
      return false
    }
    sources.unsafelyUnwrapped[sourceCount] = UInt32(id)
    return true
  }

  /// The next successor of the source begun: state `target`, reached by `action`.
  @inline(__always) mutating func append(target: Int, action: UInt16) {
    if edgeCount == edgeCapacity, !growEdges() { return }
    guard target < Int(UInt32.max) else { return abandon() }
    targets.unsafelyUnwrapped[edgeCount] = UInt32(target)
    actions.unsafelyUnwrapped[edgeCount] = action
    edgeCount += 1
  }

  /// The source begun has all its successors.
  @inline(__always) mutating func endSource() {
    if !isRecording { return }
    ends.unsafelyUnwrapped[sourceCount] = UInt32(edgeCount)
    sourceCount += 1
  }

  // Growth by a quarter: large blocks are moved by remapping pages, not copied, so growing
  // often costs little, and the slack stays small.
  @inline(never) private mutating func growSources() -> Bool {
    let grown = max(sourceCapacity + sourceCapacity / 4, 1 << 12)
    guard resize(&sources, to: grown), resize(&ends, to: grown) else { return fail() }
    sourceCapacity = grown
    return true
  }

  @inline(never) private mutating func growEdges() -> Bool {
    if !isRecording { return false }
    let grown = max(edgeCapacity + edgeCapacity / 4, 1 << 14)
    // The end offsets are 32 bits.
    guard grown <= Int(UInt32.max), resize(&targets, to: grown), resize(&actions, to: grown)
    else { return fail() }
    edgeCapacity = grown
    return true
  }

  /// Gives back the slack (once the search is done). A shrinking `realloc` that fails
  /// leaves its block as it was.
  mutating func trim() {
    if !isRecording { return }
    if sourceCount > 0, sourceCount < sourceCapacity {
      _ = resize(&sources, to: sourceCount)
      _ = resize(&ends, to: sourceCount)
      sourceCapacity = sourceCount
    }
    if edgeCount > 0, edgeCount < edgeCapacity {
      _ = resize(&targets, to: edgeCount)
      _ = resize(&actions, to: edgeCount)
      edgeCapacity = edgeCount
    }
  }

  private mutating func fail() -> Bool {
    abandon()
    return false
  }

  /// The index of the recorded source `id` at or after index `from`, nil when `id` was
  /// not recorded (sources are in increasing id order).
  func index(of id: Int, from: Int = 0) -> Int? {
    var lo = from
    var hi = sourceCount
    while lo < hi {
      let mid = (lo + hi) / 2
      if Int(sources.unsafelyUnwrapped[mid]) < id { lo = mid + 1 } else { hi = mid }
    }
    return lo < sourceCount && Int(sources.unsafelyUnwrapped[lo]) == id ? lo : nil
  }

  /// The recorded source at index `i`.
  @inline(__always) func source(at i: Int) -> Int { Int(sources.unsafelyUnwrapped[i]) }

  /// The edges of the source at index `i`: indices for `target` and `action`.
  @inline(__always) func edges(at i: Int) -> Range<Int> {
    (i == 0 ? 0 : Int(ends.unsafelyUnwrapped[i - 1]))..<Int(ends.unsafelyUnwrapped[i])
  }

  @inline(__always) func target(_ k: Int) -> Int { Int(targets.unsafelyUnwrapped[k]) }
  @inline(__always) func action(_ k: Int) -> Int { Int(actions.unsafelyUnwrapped[k]) }
}

/// Resizes `block` to `count` elements with `realloc`; false, leaving it as it was, when the
/// memory is not had.
private func resize<T>(_ block: inout UnsafeMutablePointer<T>?, to count: Int) -> Bool {
  guard let raw = realloc(block, count * MemoryLayout<T>.stride) else { return false }
  block = raw.assumingMemoryBound(to: T.self)
  return true
}

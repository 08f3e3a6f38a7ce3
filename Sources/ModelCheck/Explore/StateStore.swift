/// Every state the explorer has found, in discovery order, in one arena of words, with
/// the parent of each (for traces). A state's id is its index in the arena.
///
/// Invariants: `count <= capacity`; state `i` occupies words `[i * wordCount, (i+1) *
/// wordCount)`; `parents[0] == .max` (the initial state has none) and `parents[i] < i`
/// otherwise. Growth doubles with `realloc`, so untouched capacity is never resident.
/// BFS needs no separate queue: the frontier is the range `[next, count)`.
import PTState

struct StateStore: ~Copyable {
  let wordCount: Int
  private(set) var count = 0
  private(set) var capacity: Int
  private(set) var words: UnsafeMutablePointer<UInt64>
  private(set) var parents: UnsafeMutablePointer<UInt32>
  /// Scratch states outside the arena (`scratch(_:)`).
  private let scratchWords: UnsafeMutablePointer<UInt64>
  static let scratchCount = 2

  init(wordCount: Int, initialCapacity: Int = 1 << 12) {
    self.wordCount = wordCount
    self.capacity = initialCapacity
    guard let w = malloc(initialCapacity * wordCount * 8), let p = malloc(initialCapacity * 4)
    else {
      fatalError("out of memory allocating the state store")
    }
    self.words = w.assumingMemoryBound(to: UInt64.self)
    self.parents = p.assumingMemoryBound(to: UInt32.self)
    let scratchSize = StateStore.scratchCount * max(wordCount, 1)
    scratchWords = .allocate(capacity: scratchSize)
    scratchWords.initialize(repeating: 0, count: scratchSize)
  }

  deinit {
    free(words)
    free(parents)
    scratchWords.deallocate()
  }

  /// A state outside the arena, for the passes that step a stored state without storing
  /// the result (a trace's actions, the retry analysis): 0 for successors, 1 for probes
  /// made while a successor is still in use.
  @inline(__always) func scratch(_ k: Int) -> PackedState {
    assert(k >= 0 && k < StateStore.scratchCount, "scratch state out of range")
    return PackedState(scratchWords + k * wordCount, wordCount: wordCount)
  }

  /// State `id`; the view is valid until the next `append` (which may move the arena).
  @inline(__always) func state(_ id: Int) -> PackedStateView {
    assert(id >= 0 && id < count, "state id out of range")
    return PackedStateView(words + id * wordCount, wordCount: wordCount)
  }

  @inline(__always) func parent(of id: Int) -> Int? {
    let p = parents[id]
    return p == .max ? nil : Int(p)
  }

  /// Appends a copy of `state`; returns false if memory could not be had.
  @inline(__always) mutating func append(_ state: PackedStateView, parent: Int?) -> Bool {
    if count == capacity, !grow() { return false }
    PackedState(words + count * wordCount, wordCount: wordCount).copy(from: state)
    parents[count] = parent.map { UInt32($0) } ?? .max
    count += 1
    return true
  }

  private mutating func grow() -> Bool {
    let newCapacity = capacity * 2
    guard let w = realloc(words, newCapacity * wordCount * 8) else { return false }
    words = w.assumingMemoryBound(to: UInt64.self)
    guard let p = realloc(parents, newCapacity * 4) else { return false }
    parents = p.assumingMemoryBound(to: UInt32.self)
    capacity = newCapacity
    _checkInvariants()
    return true
  }

  /// Bytes of stored data (what a memory limit counts; capacity beyond `count` is not
  /// resident until touched).
  var residentBytes: Int { count * (wordCount * 8 + 4) }

  func _checkInvariants() {
    #if DEBUG
      precondition(count <= capacity)
      if count > 0 { precondition(parents[0] == .max) }
      for i in 1..<max(count, 1) { precondition(Int(parents[i]) < i) }
    #endif
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The explorer's working states for one expansion, allocated once per search: the source
/// (copied out of the arena, since inserting a successor may grow and move the arena), and
/// every successor of it with its hash, all generated before any is inserted so that their
/// visited-set lookups overlap.
struct ExpansionBuffer: ~Copyable {
  let wordCount: Int
  let capacity: Int
  private let words: UnsafeMutablePointer<UInt64>
  private let hashes: UnsafeMutablePointer<UInt64>

  init(wordCount: Int, successors: Int) {
    self.wordCount = wordCount
    self.capacity = max(successors, 1)
    words = .allocate(capacity: (capacity + 1) * max(wordCount, 1))
    words.initialize(repeating: 0, count: (capacity + 1) * max(wordCount, 1))
    hashes = .allocate(capacity: capacity)
    hashes.initialize(repeating: 0, count: capacity)
  }

  deinit {
    words.deallocate()
    hashes.deallocate()
  }

  /// The state being expanded.
  @inline(__always) var source: PackedState { PackedState(words, wordCount: wordCount) }

  /// Successor slot `k`.
  @inline(__always) func successor(_ k: Int) -> PackedState {
    assert(k >= 0 && k < capacity, "successor slot out of range")
    return PackedState(words + (k + 1) * wordCount, wordCount: wordCount)
  }

  /// The hash of successor `k`.
  @inline(__always) func hash(_ k: Int) -> UInt64 {
    assert(k >= 0 && k < capacity, "successor slot out of range")
    return hashes[k]
  }

  @inline(__always) func setHash(_ k: Int, _ value: UInt64) {
    assert(k >= 0 && k < capacity, "successor slot out of range")
    hashes[k] = value
  }
}

/// Every state the explorer has found, in discovery order, in one arena of words, with
/// the parent of each (for traces). A state's id is its index in the arena.
///
/// Invariants: `count <= capacity`; state `i` occupies words `[i * wordCount, (i+1) *
/// wordCount)`; `parents[0] == .max` (the initial state has none) and `parents[i] < i`
/// otherwise. Growth doubles with `realloc`, so untouched capacity is never resident.
/// BFS needs no separate queue: the frontier is the range `[next, count)`.
struct StateStore: ~Copyable {
  let wordCount: Int
  private(set) var count = 0
  private(set) var capacity: Int
  private(set) var words: UnsafeMutablePointer<UInt64>
  private(set) var parents: UnsafeMutablePointer<UInt32>

  init(wordCount: Int, initialCapacity: Int = 1 << 12) {
    self.wordCount = wordCount
    self.capacity = initialCapacity
    guard let w = malloc(initialCapacity * wordCount * 8), let p = malloc(initialCapacity * 4)
    else {
      fatalError("out of memory allocating the state store")
    }
    self.words = w.assumingMemoryBound(to: UInt64.self)
    self.parents = p.assumingMemoryBound(to: UInt32.self)
  }

  deinit {
    free(words)
    free(parents)
  }

  @inline(__always) func state(_ id: Int) -> UnsafeMutablePointer<UInt64> { words + id * wordCount }

  @inline(__always) func parent(of id: Int) -> Int? {
    let p = parents[id]
    return p == .max ? nil : Int(p)
  }

  /// Appends a copy of `state`; returns false if memory could not be had.
  @inline(__always) mutating func append(_ state: UnsafePointer<UInt64>, parent: Int?) -> Bool {
    if count == capacity, !grow() { return false }
    copyState(state, to: words + count * wordCount, wordCount)
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

/// Copies a state: states are a few words, and a `memcpy` call costs more than the copy
/// itself in the inner loop (a plain loop is turned back into a `memcpy` call by the
/// optimizer, hence the unrolled cases).
@inline(__always)
func copyState(_ from: UnsafePointer<UInt64>, to: UnsafeMutablePointer<UInt64>, _ wordCount: Int) {
  switch wordCount {
  case 1:
    to[0] = from[0]
  case 2:
    to[0] = from[0]
    to[1] = from[1]
  case 3:
    to[0] = from[0]
    to[1] = from[1]
    to[2] = from[2]
  case 4:
    to[0] = from[0]
    to[1] = from[1]
    to[2] = from[2]
    to[3] = from[3]
  case 5:
    to[0] = from[0]
    to[1] = from[1]
    to[2] = from[2]
    to[3] = from[3]
    to[4] = from[4]
  case 6:
    to[0] = from[0]
    to[1] = from[1]
    to[2] = from[2]
    to[3] = from[3]
    to[4] = from[4]
    to[5] = from[5]
  default:
    to.update(from: from, count: wordCount)
  }
}

/// The set of states seen: open addressing over `UInt32` slots; the states themselves
/// live in the `StateStore` and are compared there (word by word, or by tree root).
/// Capacity is a power of two (2^k), probing is linear, and the table doubles at 70% load.
/// 4 bytes a slot keeps the table small (6-11 B a state).
///
/// A slot holds a state's id + 1 in its low k bits (ids stay below 0.7 * 2^k, so they fit,
/// and 0 means empty) and a tag of the state's hash in the other 32 - k bits, as Rumur
/// keeps hash bits beside pointers: a probe only reads the store (a likely cache miss)
/// when the tags agree.
///
/// The hash has a fixed seed (never `Hasher`, which is seeded per process), so state
/// numbering, traces and statistics are the same on every run.
import PTState

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

struct VisitedSet: ~Copyable {
  private(set) var slots: UnsafeMutablePointer<UInt32>
  private(set) var capacity: Int
  private(set) var count = 0
  private let wordCount: Int
  /// Folds the loads `grow` starts early, so the optimizer keeps them.
  private var prefetchSink: UInt32 = 0

  /// Low bits of a slot that hold the id.
  private var idMask: UInt32 { UInt32(truncatingIfNeeded: capacity - 1) }

  @inline(__always) private func tag(_ hash: UInt64) -> UInt32 {
    UInt32(truncatingIfNeeded: hash >> 32) & ~idMask
  }

  static let maxCapacity = 1 << 31

  init(wordCount: Int, initialCapacity: Int = 1 << 14) {
    self.wordCount = wordCount
    self.capacity = initialCapacity
    guard let raw = calloc(initialCapacity, 4) else {
      fatalError("out of memory allocating the visited set")
    }
    self.slots = raw.assumingMemoryBound(to: UInt32.self)
  }

  deinit { free(slots) }

  @inline(__always)
  static func hash(_ s: PackedStateView) -> UInt64 {
    var h: UInt64 = 0x243F_6A88_85A3_08D3
    for i in 0..<s.wordCount {
      h = (h ^ s[word: i]) &* 0x9E37_79B9_7F4A_7C15
      h ^= h &>> 29
    }
    h = (h ^ (h &>> 32)) &* 0xD6E8_FEB8_6659_FD93
    return h ^ (h &>> 32)
  }

  /// Loads the slot `hash` lands on and the first word of the state it names, and returns
  /// them folded together. A later `insert` of the same state then finds both in cache:
  /// issuing these loads for every successor first lets their cache misses overlap.
  @inline(__always)
  func touch(hash: UInt64, in store: borrowing StateStore) -> UInt64 {
    // Branch-free: a branch on the slot would wait for its cache miss. An empty slot
    // reads state 0, which is harmless.
    let slot = slots[Int(truncatingIfNeeded: hash) & (capacity - 1)]
    let id = max(Int(slot & idMask) - 1, 0)
    return store.firstWord(id) ^ UInt64(slot)
  }

  /// `touch` in two steps, for a batch: load the slot of every hash first, then the state
  /// each slot names (`touch(slot:in:)`), so that both rounds of cache misses overlap.
  @inline(__always)
  func slot(hash: UInt64) -> UInt32 { slots[Int(truncatingIfNeeded: hash) & (capacity - 1)] }

  /// The first word of the state a slot names, folded with the slot (see `slot(hash:)`).
  @inline(__always)
  func touch(slot: UInt32, in store: borrowing StateStore) -> UInt64 {
    let id = max(Int(slot & idMask) - 1, 0)
    return store.firstWord(id) ^ UInt64(slot)
  }

  /// The id of `state` if it was seen (`base`: the state it is a successor of, if decoded
  /// from the store's tree, which saves tree lookups).
  @inline(__always)
  func find(
    _ state: PackedStateView, in store: borrowing StateStore, base: StateTree.Base? = nil
  ) -> Int? {
    let mask = capacity - 1
    let hash = VisitedSet.hash(state)
    let t = tag(hash)
    var i = Int(truncatingIfNeeded: hash) & mask
    var key = StateStore.Key(base: base)
    while true {
      let slot = slots[i]
      if slot == 0 { return nil }
      if slot & ~idMask == t {
        let id = Int((slot & idMask) - 1)
        if store.holds(id, state, &key) { return id }
      }
      i = (i + 1) & mask
    }
  }

  enum InsertResult {
    case existing(Int)
    case inserted(Int)
    case outOfMemory
  }

  /// Finds `state`, or appends it to `store` (with `parent`) and records it.
  @inline(__always)
  mutating func insert(_ state: PackedStateView, parent: Int?, into store: inout StateStore)
    -> InsertResult
  {
    insert(state, hash: VisitedSet.hash(state), parent: parent, into: &store)
  }

  @inline(__always)
  mutating func insert(
    _ state: PackedStateView, hash: UInt64, parent: Int?, key: StateStore.Key = .init(),
    into store: inout StateStore
  ) -> InsertResult {
    if (count + 1) * 10 > capacity * 7, !grow(store) { return .outOfMemory }
    let mask = capacity - 1
    let t = tag(hash)
    var i = Int(truncatingIfNeeded: hash) & mask
    var key = key
    while true {
      let slot = slots[i]
      if slot == 0 { break }
      if slot & ~idMask == t {
        let id = Int((slot & idMask) - 1)
        if store.holds(id, state, &key) { return .existing(id) }
      }
      i = (i + 1) & mask
    }
    let id = store.count
    guard store.append(state, parent: parent, key: key) else { return .outOfMemory }
    slots[i] = t | UInt32(id + 1)
    count += 1
    return .inserted(id)
  }

  /// Doubles the table and re-inserts every id. Hashes and tags are recomputed from the
  /// store, read in order (sequential reads; only the table writes are scattered), a batch
  /// at a time so that the batch's cache misses on the table overlap.
  private mutating func grow(_ store: borrowing StateStore) -> Bool {
    let newCapacity = capacity * 2
    guard newCapacity <= VisitedSet.maxCapacity, let raw = calloc(newCapacity, 4) else {
      return false
    }
    free(slots)
    slots = raw.assumingMemoryBound(to: UInt32.self)
    capacity = newCapacity
    let mask = newCapacity - 1
    let words = UnsafeMutablePointer<UInt64>.allocate(capacity: max(store.wordCount, 1))
    defer { words.deallocate() }
    let state = PackedState(words, wordCount: store.wordCount)
    let batch = 32
    var hashes = [UInt64](repeating: 0, count: batch)
    for first in Swift.stride(from: 0, to: store.count, by: batch) {
      let end = min(first + batch, store.count)
      for id in first..<end {
        store.copyState(id, into: state)
        hashes[id - first] = VisitedSet.hash(state.view)
      }
      // The batch's loads, in a loop short enough that they are all in flight at once.
      var sink: UInt32 = 0
      for k in 0..<end - first { sink |= slots[Int(truncatingIfNeeded: hashes[k]) & mask] }
      prefetchSink |= sink
      for id in first..<end {
        let hash = hashes[id - first]
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = tag(hash) | UInt32(id + 1)
      }
    }
    return true
  }

  var residentBytes: Int { capacity * 4 }

  /// The table as threads that only look states up see it, while nothing is inserted (the
  /// parallel explorer's workers, the graph passes' threads).
  struct Probe: @unchecked Sendable {
    let slots: UnsafePointer<UInt32>
    let capacity: Int
    let store: StateStore.Reader

    /// `VisitedSet.touch` for the workers: loads the slot and the state it names.
    @inline(__always)
    func touch(hash: UInt64) -> UInt64 {
      let slot = slots[Int(truncatingIfNeeded: hash) & (capacity - 1)]
      let id = max(Int(slot & UInt32(truncatingIfNeeded: capacity - 1)) - 1, 0)
      return store.firstWord(id) ^ UInt64(slot)
    }

    /// Whether `state` (whose hash is `hash`) is in the table.
    @inline(__always)
    func contains(_ state: PackedStateView, hash: UInt64, base: StateTree.Base?) -> Bool {
      id(of: state, hash: hash, base: base) != nil
    }

    /// The id of `state` (whose hash is `hash`), if it is in the table (`base` as for
    /// `VisitedSet.find`).
    @inline(__always)
    func id(of state: PackedStateView, hash: UInt64, base: StateTree.Base?) -> Int? {
      let mask = capacity - 1
      let idMask = UInt32(truncatingIfNeeded: mask)
      let t = UInt32(truncatingIfNeeded: hash >> 32) & ~idMask
      var i = Int(truncatingIfNeeded: hash) & mask
      var key = StateStore.Key(base: base)
      while true {
        let slot = slots[i]
        if slot == 0 { return nil }
        if slot & ~idMask == t {
          let id = Int((slot & idMask) - 1)
          if store.holds(id, state, &key) { return id }
        }
        i = (i + 1) & mask
      }
    }
  }

  func probe(_ store: borrowing StateStore) -> Probe {
    Probe(slots: slots, capacity: capacity, store: store.reader)
  }

  /// Debug builds only: the table holds `count` ids, each once, each found by its state.
  func _checkInvariants(_ store: borrowing StateStore) {
    #if DEBUG
      var occupied = 0
      for i in 0..<capacity where slots[i] != 0 { occupied += 1 }
      precondition(occupied == count && count == store.count, "visited set count")
      for id in 0..<store.count {
        let found = store.withState(id) { find($0, in: store) }
        precondition(found == id, "state \(id) not found")
      }
    #endif
  }
}

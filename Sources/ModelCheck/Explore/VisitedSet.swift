/// The set of states seen: open addressing over `UInt32` slots holding `StateID + 1`
/// (0 = empty); the states themselves live in the `StateStore` arena and are compared
/// word by word. Capacity is a power of two, probing is linear, and the table doubles
/// at 70% load. 4 bytes a slot keeps the table small (4-6 B a state at that load).
///
/// The hash has a fixed seed (never `Hasher`, which is seeded per process), so state
/// numbering, traces and statistics are the same on every run.
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

  init(wordCount: Int, initialCapacity: Int = 1 << 14) {
    self.wordCount = wordCount
    self.capacity = initialCapacity
    guard let raw = calloc(initialCapacity, 4) else { fatalError("out of memory allocating the visited set") }
    self.slots = raw.assumingMemoryBound(to: UInt32.self)
  }

  deinit { free(slots) }

  @inline(__always)
  static func hash(_ s: UnsafePointer<UInt64>, _ wordCount: Int) -> UInt64 {
    var h: UInt64 = 0x243F_6A88_85A3_08D3
    for i in 0..<wordCount {
      h = (h ^ s[i]) &* 0x9E37_79B9_7F4A_7C15
      h ^= h &>> 29
    }
    h = (h ^ (h &>> 32)) &* 0xD6E8_FEB8_6659_FD93
    return h ^ (h &>> 32)
  }

  @inline(__always)
  static func equal(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, _ wordCount: Int) -> Bool {
    for i in 0..<wordCount where a[i] != b[i] { return false }
    return true
  }

  /// The id of `state` if it was seen.
  @inline(__always)
  func find(_ state: UnsafePointer<UInt64>, in store: borrowing StateStore) -> Int? {
    let mask = capacity - 1
    var i = Int(truncatingIfNeeded: VisitedSet.hash(state, wordCount)) & mask
    while true {
      let slot = slots[i]
      if slot == 0 { return nil }
      let id = Int(slot - 1)
      if VisitedSet.equal(store.state(id), state, wordCount) { return id }
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
  mutating func insert(_ state: UnsafePointer<UInt64>, parent: Int?, into store: inout StateStore) -> InsertResult {
    if (count + 1) * 10 > capacity * 7, !grow(store) { return .outOfMemory }
    let mask = capacity - 1
    var i = Int(truncatingIfNeeded: VisitedSet.hash(state, wordCount)) & mask
    while true {
      let slot = slots[i]
      if slot == 0 { break }
      let id = Int(slot - 1)
      if VisitedSet.equal(store.state(id), state, wordCount) { return .existing(id) }
      i = (i + 1) & mask
    }
    let id = store.count
    guard id < StateStore.maxStates, store.append(state, parent: parent) else { return .outOfMemory }
    slots[i] = UInt32(id + 1)
    count += 1
    return .inserted(id)
  }

  /// Doubles the table and re-inserts every id (hashes are recomputed from the arena).
  private mutating func grow(_ store: borrowing StateStore) -> Bool {
    let newCapacity = capacity * 2
    guard let raw = calloc(newCapacity, 4) else { return false }
    let newSlots = raw.assumingMemoryBound(to: UInt32.self)
    let mask = newCapacity - 1
    for j in 0..<capacity {
      let slot = slots[j]
      if slot == 0 { continue }
      var i = Int(truncatingIfNeeded: VisitedSet.hash(store.state(Int(slot - 1)), wordCount)) & mask
      while newSlots[i] != 0 { i = (i + 1) & mask }
      newSlots[i] = slot
    }
    free(slots)
    slots = newSlots
    capacity = newCapacity
    return true
  }

  var residentBytes: Int { capacity * 4 }
}

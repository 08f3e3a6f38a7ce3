/// The states of the next BFS level, while the parallel search finds them
/// (`ParallelBreadthFirst.swift`): whole states in discovery order, each with its hash and
/// parent, and a small open-addressing index of them. The visited set and the store's
/// states are left alone for the whole level, so the worker threads can read them while
/// this fills; at the level's end the states go into the store and the visited set in this
/// order, which is the order the one-thread search inserts them in.
///
/// The first states are written straight into the store's arena, after its states
/// (`useTail`: room the store set aside, `StateStore.reserveTail`), so that the level's
/// end need not copy them there; the rest, if the level outgrows that room, into an arena
/// of its own.
///
/// A slot holds the state's index + 1 in its low 32 bits and its hash's high 32 bits
/// above (0: empty), so a probe reads a state only when the tags agree. With fingerprints,
/// two states with one hash are one state, as in the visited set.
import PTState

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

struct NextLevel: ~Copyable {
  let wordCount: Int
  let fingerprints: Bool
  private(set) var count = 0
  private var capacity = 0
  private var words: UnsafeMutablePointer<UInt64>?
  /// Where states `0..<tailCapacity` go: the store's tail (0: none).
  private var tail: UnsafeMutablePointer<UInt64>?
  private var tailCapacity = 0
  private var hashes: UnsafeMutablePointer<UInt64>?
  private var parents: UnsafeMutablePointer<Int>?
  private var slots: UnsafeMutablePointer<UInt64>
  private var slotCapacity: Int
  static let minimumSlots = 1 << 10

  init(wordCount: Int, fingerprints: Bool) {
    self.wordCount = wordCount
    self.fingerprints = fingerprints
    slotCapacity = Self.minimumSlots
    guard let raw = allocateZeroed(slotCapacity, 8) else {
      fatalError("out of memory allocating the next level's index")
    }
    slots = raw.assumingMemoryBound(to: UInt64.self)
  }

  deinit {
    free(slots)
    free(words)
    free(hashes)
    free(parents)
  }

  /// State `i` (valid until the next insert).
  @inline(__always) func state(_ i: Int) -> PackedStateView {
    PackedStateView(address(i), wordCount: wordCount)
  }

  @inline(__always) private func address(_ i: Int) -> UnsafeMutablePointer<UInt64> {
    i < tailCapacity
      ? tail.unsafelyUnwrapped + i * wordCount
      : words.unsafelyUnwrapped + (i - tailCapacity) * wordCount
  }

  /// Writes the level's first `capacity` states at `tail` (the store's room for them),
  /// for a level that starts empty; without a call, all go in the level's own arena.
  mutating func useTail(_ tail: UnsafeMutablePointer<UInt64>, capacity: Int) {
    precondition(count == 0, "a level chooses where its states go before it has any")
    self.tail = tail
    tailCapacity = capacity
  }

  /// How many of the states are in the tail (the first ones).
  var inTail: Int { min(count, tailCapacity) }

  @inline(__always) func hash(_ i: Int) -> UInt64 { hashes.unsafelyUnwrapped[i] }
  /// The states after the tail's, one after another (valid until the next insert; only
  /// while `count > inTail`).
  var statesAfterTail: UnsafePointer<UInt64> { UnsafePointer(words.unsafelyUnwrapped) }
  /// The hashes, in order (valid until the next insert; only while `count > 0`).
  var allHashes: UnsafePointer<UInt64> { UnsafePointer(hashes.unsafelyUnwrapped) }
  @inline(__always) func parent(_ i: Int) -> Int { parents.unsafelyUnwrapped[i] }

  /// Asks for the slot `hash` lands on to be brought into cache, without waiting for it.
  @inline(__always) func prefetchSlot(hash: UInt64) {
    prefetch(slots + (Int(truncatingIfNeeded: hash) & (slotCapacity - 1)))
  }

  /// Whether `state` (with `hash`) is in the level; with fingerprints, whether its hash is.
  @inline(__always) func contains(_ state: PackedStateView, hash: UInt64) -> Bool {
    let (found, _) = find(state, hash: hash)
    return found
  }

  /// Whether the state is here, and its index; else the empty slot where it would go.
  @inline(__always) private func find(_ state: PackedStateView, hash: UInt64) -> (Bool, Int) {
    if count == 0 { precondition(indexIsClear, "a level's index is readied (prepare) first") }
    let mask = slotCapacity - 1
    let tag = hash & 0xFFFF_FFFF_0000_0000
    var i = Int(truncatingIfNeeded: hash) & mask
    while true {
      let slot = slots[i]
      if slot == 0 { return (false, i) }
      if slot & 0xFFFF_FFFF_0000_0000 == tag {
        let k = Int(slot & 0xFFFF_FFFF) - 1
        if fingerprints ? self.hash(k) == hash : self.state(k).equals(state) { return (true, k) }
      }
      i = (i + 1) & mask
    }
  }

  /// Adds `state` unless it is here; its index in the level (the order states were added
  /// in). Nil when memory could not be had.
  @inline(__always)
  mutating func insert(_ state: PackedStateView, hash: UInt64, parent: Int) -> Int? {
    var (found, i) = find(state, hash: hash)
    if found { return i }
    if count == capacity {
      guard grow() else { return nil }
    }
    if (count + 1) * 2 > slotCapacity {
      guard rehash(slotCapacity * 2) else { return nil }
      (_, i) = find(state, hash: hash)
    }
    if count >= tailCapacity + wordsCapacity {
      guard growWords() else { return nil }
    }
    PackedState(address(count), wordCount: wordCount).copy(from: state)
    hashes.unsafelyUnwrapped[count] = hash
    parents.unsafelyUnwrapped[count] = parent
    count += 1
    slots[i] = hash & 0xFFFF_FFFF_0000_0000 | UInt64(count)
    return count - 1
  }

  /// Empties the level for the next one. Its index is cleared by `prepare`, which the
  /// merging thread calls once the other threads expand: clearing it here, at the level's
  /// end, would hold them all up.
  mutating func removeAll() {
    count = 0
    (tail, tailCapacity) = (nil, 0)
    indexIsClear = false
  }

  /// Whether no slot of the index holds a state (`prepare` clears it).
  private var indexIsClear = true

  /// Readies the index of a level that starts empty for about `expected` states: sized so
  /// that it need not grow (the growth's copy, in the middle of the merge, held the other
  /// threads up), and cleared. Where memory for a larger index cannot be had, the one held
  /// is cleared: the level then grows it, or stops, as it fills.
  mutating func prepare(expected: Int) {
    precondition(count == 0, "a level's index is readied before it has states")
    var wanted = Self.minimumSlots
    while wanted < (expected + 1) * 2 { wanted *= 2 }
    if wanted > slotCapacity || slotCapacity > 4 * wanted,
      let raw = allocateZeroed(wanted, 8)
    {
      free(slots)
      slots = raw.assumingMemoryBound(to: UInt64.self)
      slotCapacity = wanted
    } else if !indexIsClear {
      memset(slots, 0, slotCapacity * 8)
    }
    indexIsClear = true
  }

  /// Bytes held, the states written in the store's tail included.
  var residentBytes: Int {
    capacity * 16 + (inTail + wordsCapacity) * wordCount * 8 + slotCapacity * 8
  }

  /// States the level's own arena has room for (those after the tail's).
  private var wordsCapacity = 0

  private mutating func growWords() -> Bool {
    let newCapacity = max(wordsCapacity * 2, 1 << 10)
    guard let w = realloc(words, newCapacity * max(wordCount, 1) * 8) else { return false }
    words = w.assumingMemoryBound(to: UInt64.self)
    wordsCapacity = newCapacity
    return true
  }

  /// Room for more hashes and parents.
  private mutating func grow() -> Bool {
    let newCapacity = max(capacity * 2, 1 << 10)
    guard let h = realloc(hashes, newCapacity * 8) else { return false }
    hashes = h.assumingMemoryBound(to: UInt64.self)
    guard let p = realloc(parents, newCapacity * MemoryLayout<Int>.stride) else { return false }
    parents = p.assumingMemoryBound(to: Int.self)
    capacity = newCapacity
    return true
  }

  /// A new index of `newCapacity` slots (a power of two) for the states held.
  private mutating func rehash(_ newCapacity: Int) -> Bool {
    guard let raw = allocateZeroed(newCapacity, 8) else { return false }
    free(slots)
    slots = raw.assumingMemoryBound(to: UInt64.self)
    slotCapacity = newCapacity
    let mask = newCapacity - 1
    for k in 0..<count {
      let h = hash(k)
      var i = Int(truncatingIfNeeded: h) & mask
      while slots[i] != 0 { i = (i + 1) & mask }
      slots[i] = h & 0xFFFF_FFFF_0000_0000 | UInt64(k + 1)
    }
    return true
  }
}

/// The parent of every stored state, in about 2 bits a state.
///
/// Breadth-first search expands states in id order and stores each new successor as it
/// goes, so the parents of states 1, 2, 3, ... never decrease. The links are kept as that
/// sequence's unary code: a 1 bit for each state (its parent is the current one), and a 0
/// bit for each step of the current parent to the next. The parent of state `i` is the
/// number of 0 bits before the `i`-th 1 bit; the position of every 128th 1 bit is sampled,
/// so a lookup scans at most 128 ones (and the 0 bits among them).
///
/// Invariants: `ones == count - 1` (the initial state has no parent); `current` is the
/// last parent appended; `samples[k]` is the position of 1 bit number `k * 128` (0-based).
#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

struct ParentLinks: ~Copyable {
  private var bits: UnsafeMutablePointer<UInt64>
  private var bitCapacity: Int
  private var bitCount = 0
  /// Words cleared so far: the ones written to (growth leaves new capacity untouched, so it
  /// is never resident until used).
  private var clearedWords = 0
  private var samples: UnsafeMutablePointer<UInt64>
  private var sampleCapacity: Int
  private var ones = 0
  private var current = 0
  /// States recorded (the initial state included).
  private(set) var count = 0
  static let sampleEvery = 128

  init() {
    bitCapacity = 1 << 12
    sampleCapacity = 1 << 6
    guard let b = malloc(bitCapacity / 8), let s = malloc(sampleCapacity * 8) else {
      fatalError("out of memory allocating the parent links")
    }
    bits = b.assumingMemoryBound(to: UInt64.self)
    samples = s.assumingMemoryBound(to: UInt64.self)
  }

  deinit {
    free(bits)
    free(samples)
  }

  /// Records the next state's parent: nil for the initial state (the first one only),
  /// else a parent no smaller than the last one's. False if memory could not be had.
  mutating func append(_ parent: Int?) -> Bool {
    guard let parent else {
      precondition(count == 0, "only the initial state has no parent")
      count = 1
      return true
    }
    precondition(parent >= current && parent < count, "parents must be appended in BFS order")
    if bitCount + (parent - current) + 1 > bitCapacity, !grow(parent - current + 1) {
      return false
    }
    if ones % ParentLinks.sampleEvery == 0 {
      let k = ones / ParentLinks.sampleEvery
      if k == sampleCapacity {
        guard let s = realloc(samples, sampleCapacity * 2 * 8) else { return false }
        samples = s.assumingMemoryBound(to: UInt64.self)
        sampleCapacity *= 2
      }
      samples[k] = UInt64(bitCount + parent - current)
    }
    bitCount += parent - current  // the 0 bits
    current = parent
    while clearedWords <= bitCount >> 6 {
      bits[clearedWords] = 0
      clearedWords += 1
    }
    bits[bitCount >> 6] |= 1 << UInt64(bitCount & 63)
    bitCount += 1
    ones += 1
    count += 1
    return true
  }

  private mutating func grow(_ extra: Int) -> Bool {
    var newCapacity = bitCapacity * 2
    while newCapacity < bitCount + extra { newCapacity *= 2 }
    guard let b = realloc(bits, newCapacity / 8) else { return false }
    bits = b.assumingMemoryBound(to: UInt64.self)
    bitCapacity = newCapacity
    return true
  }

  /// The parent of state `id` (nil for the initial state).
  func parent(of id: Int) -> Int? {
    precondition(id >= 0 && id < count, "state id out of range")
    if id == 0 { return nil }
    let one = id - 1  // state id is 1 bit number id - 1
    var position = Int(samples[one / ParentLinks.sampleEvery])
    var skip = one % ParentLinks.sampleEvery  // further 1 bits to pass
    // The 1 bit at `position`, and the ones after it in its word.
    var word = bits[position >> 6] & (~0 << UInt64(position & 63))
    while true {
      let here = word.nonzeroBitCount
      if skip < here {
        for _ in 0..<skip { word &= word - 1 }
        position = (position & ~63) + word.trailingZeroBitCount
        return position - one  // the 0 bits before it
      }
      skip -= here
      position = (position & ~63) + 64
      word = bits[position >> 6]
    }
  }

  /// Bytes held (what a memory limit counts).
  var residentBytes: Int { clearedWords * 8 + (ones / ParentLinks.sampleEvery + 1) * 8 }
}

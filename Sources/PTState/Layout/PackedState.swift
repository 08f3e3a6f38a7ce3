// The packed-state views: with the explorer's state store and visited set, the only code
// that holds raw pointers. Every other file reads and writes a state through these.

/// Reading the fields of one packed state: what the machine's queries ask of a state, so
/// that they accept a read-only view (a stored state) and a mutable one (a step) alike.
public protocol PackedStateReading {
  /// Words in the state (each field's word is below it).
  var wordCount: Int { get }
  subscript(_ f: Field) -> UInt64 { get }
  /// Word `i` of the state as a whole (hashing, comparing, copying).
  subscript(word i: Int) -> UInt64 { get }
}

extension PackedStateReading {
  @inlinable public func pte(_ f: Field) -> PTE {
    PTE(rawValue: UInt8(truncatingIfNeeded: self[f]))
  }
}

/// A read-only view of one packed state: a stored state, or a step's source.
///
/// It borrows the words (no copy, no allocation). Debug builds check every access against
/// `wordCount`, so a `Field` from another layout traps instead of corrupting a neighbour.
public struct PackedStateView: PackedStateReading {
  @usableFromInline let words: UnsafePointer<UInt64>
  public let wordCount: Int

  /// For the owners of state memory only: the state store, the visited set and the
  /// scratch buffers below.
  @inlinable public init(_ words: UnsafePointer<UInt64>, wordCount: Int) {
    self.words = words
    self.wordCount = wordCount
  }

  @inlinable public subscript(_ f: Field) -> UInt64 {
    assert(Int(f.word) < wordCount || f.mask == 0, "field outside the state")
    return (words[Int(f.word)] &>> UInt64(f.shift)) & f.mask
  }

  @inlinable public subscript(word i: Int) -> UInt64 {
    assert(i >= 0 && i < wordCount, "word outside the state")
    return words[i]
  }

  /// Whether both views hold the same words.
  @inlinable public func equals(_ other: PackedStateView) -> Bool {
    assert(wordCount == other.wordCount)
    for i in 0..<wordCount where words[i] != other.words[i] { return false }
    return true
  }
}

/// A mutable view of one packed state: the word accessors every operation goes through.
///
/// It borrows the words (no copy, no allocation); the explorer hands it a scratch buffer.
/// Debug builds check every access against `wordCount`.
public struct PackedState: PackedStateReading {
  @usableFromInline let words: UnsafeMutablePointer<UInt64>
  public let wordCount: Int

  /// For the owners of state memory only: the state store, the visited set and the
  /// scratch buffers below.
  @inlinable public init(_ words: UnsafeMutablePointer<UInt64>, wordCount: Int) {
    self.words = words
    self.wordCount = wordCount
  }

  @inlinable public subscript(_ f: Field) -> UInt64 {
    get {
      assert(Int(f.word) < wordCount || f.mask == 0, "field outside the state")
      return (words[Int(f.word)] &>> UInt64(f.shift)) & f.mask
    }
    nonmutating set {
      assert(Int(f.word) < wordCount || f.mask == 0, "field outside the state")
      let i = Int(f.word)
      let shifted = f.mask &<< UInt64(f.shift)
      words[i] = (words[i] & ~shifted) | ((newValue & f.mask) &<< UInt64(f.shift))
    }
  }

  @inlinable public subscript(word i: Int) -> UInt64 {
    get {
      assert(i >= 0 && i < wordCount, "word outside the state")
      return words[i]
    }
    nonmutating set {
      assert(i >= 0 && i < wordCount, "word outside the state")
      words[i] = newValue
    }
  }

  @inlinable public var view: PackedStateView {
    PackedStateView(UnsafePointer(words), wordCount: wordCount)
  }

  /// Sets every word to zero.
  @inlinable public func clear() { words.update(repeating: 0, count: wordCount) }

  /// Copies `source` over this state. States are a few words, and a `memcpy` call costs
  /// more than the copy itself in the inner loop (a plain loop is turned back into a
  /// `memcpy` call by the optimizer, hence the unrolled cases).
  @inline(__always) public func copy(from source: PackedStateView) {
    assert(source.wordCount == wordCount)
    let from = source.words
    let to = words
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
}

/// `count` scratch states of `wordCount` words, zeroed, alive while `body` runs: the one
/// way code outside the state store gets state memory of its own (a trace's replay, the
/// explorer's successors). No pointer outlives the call.
@inlinable public func withScratchStates<R>(
  wordCount: Int, count: Int = 1, _ body: (ScratchStates) throws -> R
) rethrows -> R {
  let words = UnsafeMutablePointer<UInt64>.allocate(capacity: max(wordCount * count, 1))
  words.initialize(repeating: 0, count: max(wordCount * count, 1))
  defer { words.deallocate() }
  return try body(ScratchStates(words: words, wordCount: wordCount, count: count))
}

/// The states lent by `withScratchStates`.
public struct ScratchStates {
  @usableFromInline let words: UnsafeMutablePointer<UInt64>
  public let wordCount: Int
  public let count: Int

  @inlinable init(words: UnsafeMutablePointer<UInt64>, wordCount: Int, count: Int) {
    self.words = words
    self.wordCount = wordCount
    self.count = count
  }

  @inlinable public subscript(_ i: Int) -> PackedState {
    assert(i >= 0 && i < count, "scratch state out of range")
    return PackedState(words + i * wordCount, wordCount: wordCount)
  }
}

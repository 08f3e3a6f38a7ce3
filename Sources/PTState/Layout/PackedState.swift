/// A mutable view of one packed state: the word accessors every operation goes through.
///
/// It borrows the words (no copy, no allocation); the explorer hands it a scratch buffer.
public struct PackedState {
  @usableFromInline let words: UnsafeMutablePointer<UInt64>

  @inlinable public init(_ words: UnsafeMutablePointer<UInt64>) { self.words = words }

  @inlinable public subscript(_ f: Field) -> UInt64 {
    get { (words[Int(f.word)] &>> UInt64(f.shift)) & f.mask }
    nonmutating set {
      let i = Int(f.word)
      let shifted = f.mask &<< UInt64(f.shift)
      words[i] = (words[i] & ~shifted) | ((newValue & f.mask) &<< UInt64(f.shift))
    }
  }

  @inlinable public func pte(_ f: Field) -> PTE {
    PTE(rawValue: UInt8(truncatingIfNeeded: self[f]))
  }
}

/// One field of a packed state: `width` bits at `shift` in word `word`.
/// A field of width 0 reads as 0 and ignores writes, so optional parts of the
/// machine (a shadow table in `direct` mode, a TLB slot a CPU never fills) cost nothing.
public struct Field: Sendable, Hashable {
  public var word: Int32
  public var shift: UInt8
  public var mask: UInt64

  @inlinable public init(word: Int32, shift: UInt8, mask: UInt64) {
    self.word = word
    self.shift = shift
    self.mask = mask
  }

  public static let absent = Field(word: 0, shift: 0, mask: 0)

  @inlinable public var width: Int { mask.nonzeroBitCount }
}

/// Number of bits needed to hold every value in `0..<count`.
@inlinable public func bitsToHold(_ count: Int) -> Int {
  count <= 1 ? 0 : (Int.bitWidth - (count - 1).leadingZeroBitCount)
}

/// A page-table entry as the model sees it: four flag bits and a 4-bit page-frame number.
///
/// Bit layout (one byte, so a PTE packs into 8 bits of a state word):
/// `present` = bit 0, `write` = bit 1, `accessed` = bit 2, `dirty` = bit 3, `pfn` = bits 4...7.
/// `none` (all zero) is the empty entry, as `pte_none()` tests in the kernel.
public struct PTE: Hashable, Sendable, CustomStringConvertible {
  public var rawValue: UInt8

  @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

  public static let none = PTE(rawValue: 0)
  public static let presentBit: UInt8 = 1 << 0
  public static let writeBit: UInt8 = 1 << 1
  public static let accessedBit: UInt8 = 1 << 2
  public static let dirtyBit: UInt8 = 1 << 3
  /// The bits that hardware sets on its own (and only ever from 0 to 1).
  public static let hardwareBits: UInt8 = accessedBit | dirtyBit
  public static let pfnShift: UInt8 = 4
  public static let maxPFN: UInt8 = 15

  @inlinable public var isPresent: Bool { rawValue & PTE.presentBit != 0 }
  @inlinable public var isWritable: Bool { rawValue & PTE.writeBit != 0 }
  @inlinable public var isAccessed: Bool { rawValue & PTE.accessedBit != 0 }
  @inlinable public var isDirty: Bool { rawValue & PTE.dirtyBit != 0 }
  @inlinable public var pfn: UInt8 { rawValue >> PTE.pfnShift }

  @inlinable public static func pfnBits(_ pfn: UInt8) -> UInt8 { (pfn & 0xF) << pfnShift }

  /// Kernel-style spelling: `none`, or flags joined by `|` then `pfn(N)`.
  public var description: String {
    if rawValue == 0 { return "none" }
    var parts: [String] = []
    if isPresent { parts.append("present") }
    if isWritable { parts.append("write") }
    if isAccessed { parts.append("accessed") }
    if isDirty { parts.append("dirty") }
    if pfn != 0 { parts.append("pfn(\(pfn))") }
    return parts.joined(separator: "|")
  }
}

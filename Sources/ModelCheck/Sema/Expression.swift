// Sema's output for an expression: postfix code over 8-bit values. Lower interns it into
// the program's expression table and the interpreter evaluates it.

/// One postfix expression op over 8-bit values (booleans are 0 and 1).
public enum ExprOp: Sendable, Hashable {
  case constant(UInt8)
  case register(UInt8)
  case bitNot, logicalNot
  case and, or, xor, equal, notEqual, logicalAnd, logicalOr
  /// `(x & mask) != 0`: pte_present, pte_write, pte_dirty, pte_young.
  case testBits(UInt8)
  /// `x >> 4`: pte_pfn.
  case pfnOf
  /// `(x & 15) << 4`: pfn(x).
  case makePFN
  /// A field of the state (only in invariants): the `i`th of the invariant's reads.
  case stateRead(UInt8)
}

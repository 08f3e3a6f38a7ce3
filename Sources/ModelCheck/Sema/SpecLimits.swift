/// The sizes a spec may declare. Each bounds a field of the packed state or a table of
/// the compiled program; docs/spec-language.md ("Limits") lists them.
public enum SpecLimits {
  /// PTEs: a batch entry and a TLB row index them with a few bits.
  public static let ptes = 64
  /// PAE top-level entries (PDPTEs): four in real PAE, eight leave room for mistakes.
  public static let pgds = 8
  public static let ptPages = 16
  /// Locks: a lazy section's `lazyLocks` is a bitmask in one word.
  public static let locks = 32
  /// CPUs and programs: a lock holder or a CPU's current task is a 4-bit field.
  public static let cpus = 14
  public static let programs = 14
  /// Entries a batch holds (Xen's multicall buffer holds 32).
  public static let batchLimit = 1...64
  public static let defaultBatchLimit = 32
  /// Registers (`var`) of one program: a register operand is a byte.
  public static let registers = 250
  /// `repeat N`: copies at compile time (the unrolled size is limited too, `Unrolling`).
  public static let repeatCount = 0...64
  /// Branches of one `either`: a program step's branch index is a small action argument.
  public static let eitherBranches = 16
  /// The largest `check cmpxchg_terminates bound N`.
  public static let retryBound = 1000
  /// Declared kernel state: variables, the values of one (a byte), the elements of an
  /// array, the values of an enum, and the fields one invariant reads.
  public static let variables = 64
  public static let variableMax = 255
  public static let variableElements = 1...16
  public static let enumValues = 256
  public static let invariantReads = 32
}

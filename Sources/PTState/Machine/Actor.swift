/// A physical CPU: it has a batch, a TLB, interrupts on or off, and (per CPU) a lazy flag.
public struct CPUIndex: Hashable, Sendable, Comparable, CustomStringConvertible {
  public let rawValue: Int
  @inlinable public init(_ rawValue: Int) { self.rawValue = rawValue }
  @inlinable public static func < (a: CPUIndex, b: CPUIndex) -> Bool { a.rawValue < b.rawValue }
  public var description: String { "cpu#\(rawValue)" }
}

/// A program (a context, in the code's words): a CPU's pinned program, a task, or an
/// interrupt handler. It holds locks, registers and (per task) a lazy flag; it runs on a
/// CPU, which is a different thing with a different index.
public struct ProgramIndex: Hashable, Sendable, Comparable, CustomStringConvertible {
  public let rawValue: Int
  @inlinable public init(_ rawValue: Int) { self.rawValue = rawValue }
  @inlinable public static func < (a: ProgramIndex, b: ProgramIndex) -> Bool {
    a.rawValue < b.rawValue
  }
  public var description: String { "program#\(rawValue)" }
}

/// Who performs an operation: a program, and the CPU it runs on now. Every operation a
/// program performs on PTEs, locks, batches and flushes takes one; what belongs to a CPU
/// alone (its hardware, its TLB, its interrupts, its cr3, its mm reference) takes the CPU.
public struct Actor: Sendable, Hashable {
  public let program: ProgramIndex
  public let cpu: CPUIndex
  @inlinable public init(program: ProgramIndex, cpu: CPUIndex) {
    self.program = program
    self.cpu = cpu
  }
  /// A program pinned to the CPU of the same index (the common case in tests).
  @inlinable public init(pinned index: Int) {
    self.init(program: ProgramIndex(index), cpu: CPUIndex(index))
  }
}

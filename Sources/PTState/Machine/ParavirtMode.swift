/// Where a software PTE write lands and what the hardware walks.
public enum ParavirtMode: String, Sendable, CaseIterable {
  /// Bare metal: writes land in memory at once; the lazy hooks only keep their bookkeeping.
  case native
  /// Xen PV style: the guest's tables are the hardware's; in lazy mode writes are queued
  /// in the CPU's batch and memory keeps the old value until the batch is flushed.
  case direct
  /// VMI / KVM shadow / lguest style: software writes its own (guest) table at once; the
  /// hardware walks a shadow copy whose sync is queued in the batch in lazy mode.
  case shadow
}

/// How a hardware access uses a mapping.
public enum AccessKind: UInt8, Sendable {
  case read = 0
  case write = 1
}

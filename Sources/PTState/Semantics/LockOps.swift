// spin_lock / spin_unlock: the split page-table lock (ptl) and any other spinlock.

extension Machine {
  /// `spin_lock(l)`: enabled only while the lock is free (a CPU spinning is a CPU that
  /// cannot move). Returns false when the step is not enabled.
  @inlinable public func spinLock(_ s: PackedState, cpu: Int, task: Int? = nil, lock l: Int) -> Bool {
    let f = layout.lockHolder[l]
    guard s[f] == 0 else { return false }
    s[f] = UInt64((task ?? cpu) + 1)  // the program holds the lock, wherever it runs
    return true
  }

  /// `spin_unlock(l)`. Releasing the lock lazy mode was entered under while the batch
  /// still holds entries breaks the founding rule (`lazy_balanced`).
  @inlinable public func spinUnlock(_ s: PackedState, cpu: Int, task: Int? = nil, lock l: Int, _ events: inout Events) {
    let f = layout.lockHolder[l]
    guard s[f] == UInt64((task ?? cpu) + 1) else {
      events.insert(.unlockNotHeld)
      return
    }
    if let lazy = lazyFields(s, cpu: cpu, task: task ?? cpu), s[lazy.flag] != 0, s[layout.batchCount[cpu]] != 0,
      s[lazy.locks] & (1 << UInt64(l)) != 0
    {
      events.insert(.lazyUnbalanced)
    }
    exposeOwedFlushes(s, lock: l)
    exposeStalePGDs(s, lock: l)
    s[f] = 0
  }
}
